/**
 * Runs a SageMaker CreateTrainingJob request locally: lays the channels out as the built-in XGBoost container
 * sees them, runs `xgboost_container.py` on Debian's XGBoost 1.7.4, packs `xgboost-model` into
 * `<S3OutputPath>/<job>/output/model.tar.gz`, reports the built-in algorithm's own metrics (`<channel>:<metric>`
 * of the last round) and answers like DescribeTrainingJob.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTar } from 'nanotar';
import type { ArtifactStore } from '../stepfunctions/artifact-store';
import { StepError } from '../stepfunctions/step-error';

/** Interpreter that sees Debian's python3-xgboost. */
export const SYSTEM_PYTHON = process.env.MLP_PYTHON ?? '/usr/bin/python3';

/** The fields of CreateTrainingJob the local container uses. */
export interface TrainingJobRequest {
  readonly TrainingJobName: string;
  readonly HyperParameters?: Record<string, string>;
  readonly AlgorithmSpecification: {
    readonly TrainingImage?: string;
    /** Refused: a built-in algorithm defines its own metrics. */
    readonly MetricDefinitions?: readonly { Name: string; Regex: string }[];
  };
  readonly InputDataConfig: readonly {
    ChannelName: string;
    ContentType?: string;
    DataSource: { S3DataSource: { S3Uri: string } };
  }[];
  readonly OutputDataConfig: { readonly S3OutputPath: string };
}

/**
 * Why local training cannot run, with the exact set-up instruction, or undefined when the interpreter imports
 * XGBoost 1.7.4 (checked up front, so the demo does not seed and extract only to fail at Train).
 */
export function trainingPythonProblem(): string | undefined {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import xgboost; print(xgboost.__version__)'], { encoding: 'utf8' });
  const version = probe.stdout?.trim();
  if (probe.status === 0 && version === '1.7.4') return undefined;
  const found = probe.error
    ? `${SYSTEM_PYTHON} is missing`
    : `${SYSTEM_PYTHON} has ${version ? `XGBoost ${version}` : 'no XGBoost'}`;
  return (
    `local training needs XGBoost 1.7.4 (SageMaker's built-in 1.7-1) and ${found}. On Debian or Ubuntu: ` +
    'sudo apt-get install -y --no-install-recommends python3-xgboost python3-numpy; elsewhere set MLP_PYTHON to a python with xgboost==1.7.4'
  );
}

/** One boosting round as the container logged it: `[12]#011train-auc:0.81#011validation-auc:0.78`. */
export interface TrainingRound {
  readonly round: number;
  /** Metric values by `<channel>-<metric>`, e.g. `validation-auc`. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** The round a container log line reports, or undefined for other lines. */
export function parseTrainingRound(line: string): TrainingRound | undefined {
  const match = /^\[(\d+)\]((?:#011[\w-]+:\S+)+)\s*$/.exec(line);
  if (!match) return undefined;
  const metrics: Record<string, number> = {};
  for (const field of match[2].split('#011').slice(1)) {
    const at = field.lastIndexOf(':');
    metrics[field.slice(0, at)] = Number(field.slice(at + 1));
  }
  return { round: Number(match[1]), metrics };
}

/** Container output kept for the job's log (as a SageMaker log stream, but bounded): the first 64 MB. */
const MAX_LOG_CHARS = 64 * 1024 * 1024;

/** Runs a process to its end, handing each stdout line to `onLine` as it comes. */
function runStreaming(command: string, args: string[], onLine: (line: string) => void) {
  return new Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }>((done) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_LOG_CHARS) stdout += chunk;
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < MAX_LOG_CHARS) stderr += chunk;
    });
    child.once('error', (error) => done({ status: null, stdout, stderr, error }));
    child.once('close', (status) => {
      if (pending) onLine(pending);
      done({ status, stdout, stderr });
    });
  });
}

/**
 * Runs the job to completion; throws `TrainingFailed` with the container's reason. `onRound` hears each
 * boosting round's metrics as the container logs it. Like SageMaker for a built-in algorithm, it refuses
 * MetricDefinitions (`ValidationException`) before anything runs.
 */
export async function runLocalTrainingJob(
  request: TrainingJobRequest,
  store: ArtifactStore,
  logDir: string,
  onRound?: (round: TrainingRound) => void,
): Promise<Record<string, unknown>> {
  if (request.AlgorithmSpecification.MetricDefinitions?.length) {
    throw new StepError(
      'TrainingFailed',
      "ValidationException: you can't override the metric definitions of a SageMaker built-in algorithm; " +
        'remove MetricDefinitions (XGBoost reports <channel>:<eval_metric> itself)',
    );
  }
  const job = mkdtempSync(join(tmpdir(), 'mlp-training-'));
  try {
    const config = join(job, 'input', 'config');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'hyperparameters.json'), JSON.stringify(request.HyperParameters ?? {}));
    const contentTypes: Record<string, { ContentType?: string }> = {};
    for (const channel of request.InputDataConfig) {
      contentTypes[channel.ChannelName] = { ContentType: channel.ContentType };
      const prefix = channel.DataSource.S3DataSource.S3Uri;
      for (const uri of await store.list(prefix)) {
        const path = join(job, 'input', 'data', channel.ChannelName, uri.slice(prefix.length).replace(/\//g, '_'));
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, await store.get(uri));
      }
    }
    writeFileSync(join(config, 'inputdataconfig.json'), JSON.stringify(contentTypes));
    const script = join(__dirname, 'xgboost_container.py');
    const run = await runStreaming(SYSTEM_PYTHON, [script, job], (line) => {
      const round = onRound && parseTrainingRound(line);
      if (round) onRound(round);
    });
    mkdirSync(logDir, { recursive: true });
    const log = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    writeFileSync(join(logDir, `${request.TrainingJobName}.log`), log);
    if (run.error) throw new StepError('TrainingFailed', `cannot run ${SYSTEM_PYTHON}: ${run.error.message}`);
    if (run.status !== 0) {
      const failure = join(job, 'output', 'failure');
      const reason = existsSync(failure) ? readFileSync(failure, 'utf8') : log.trim().split('\n').pop();
      throw new StepError('TrainingFailed', `training job ${request.TrainingJobName} failed: ${reason}`);
    }
    const model = readFileSync(join(job, 'model', 'xgboost-model'));
    const artifact = gzipSync(createTar([{ name: 'xgboost-model', data: model }]));
    const output = request.OutputDataConfig.S3OutputPath.replace(/\/?$/, '/');
    const modelUri = `${output}${request.TrainingJobName}/output/model.tar.gz`;
    await store.put(modelUri, artifact);
    return {
      TrainingJobName: request.TrainingJobName,
      TrainingJobArn: `arn:aws:sagemaker:local:000000000000:training-job/${request.TrainingJobName}`,
      TrainingJobStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: modelUri },
      HyperParameters: request.HyperParameters,
      AlgorithmSpecification: request.AlgorithmSpecification,
      FinalMetricDataList: finalMetrics(log),
    };
  } finally {
    rmSync(job, { recursive: true, force: true });
  }
}

/**
 * The built-in XGBoost algorithm's final metrics, as SageMaker reports them: each `<channel>-<metric>` of the
 * last boosting round the container logged, named `<channel>:<metric>` (`validation:auc`).
 */
export function finalMetrics(log: string): { MetricName: string; Value: number }[] {
  let last: TrainingRound | undefined;
  for (const line of log.split('\n')) last = parseTrainingRound(line) ?? last;
  return Object.entries(last?.metrics ?? {})
    .filter(([, value]) => Number.isFinite(value))
    .map(([name, value]) => ({ MetricName: name.replace('-', ':'), Value: value }));
}
