/**
 * The local stand-in for SageMaker's built-in XGBoost 1.7-1 container: it reads CSV channels as the container
 * does in File mode (XGBoost's own parser over the channel directory), and names what is wrong with a job.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseTar } from 'nanotar';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { runLocalTrainingJob, SYSTEM_PYTHON, type TrainingJobRequest } from '../../local/local-training';
import { StepError } from '../../stepfunctions/step-error';

let root: string;
let store: LocalArtifactStore;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mlp-container-'));
  store = new LocalArtifactStore(join(root, 's3'));
});

function job(name: string, contentType = 'text/csv', hyperParameters: Record<string, string> = {}): TrainingJobRequest {
  return {
    TrainingJobName: name,
    HyperParameters: { objective: 'binary:logistic', num_round: '5', max_depth: '3', ...hyperParameters },
    AlgorithmSpecification: {},
    InputDataConfig: [
      { ChannelName: 'train', ContentType: contentType, DataSource: { S3DataSource: { S3Uri: 's3://models/ch/' } } },
    ],
    OutputDataConfig: { S3OutputPath: 's3://models/out' },
  };
}

async function failureOf(request: TrainingJobRequest): Promise<StepError> {
  const error = await runLocalTrainingJob(request, store, join(root, 'logs')).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  expect((error as StepError).name).toBe('TrainingFailed');
  return error as StepError;
}

/** 200 label-first rows with empty and NaN fields (missing values) in both features. */
function rowsWithMissing(): string {
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) {
    const a = i % 7 === 0 ? '' : String((i * 37) % 101);
    const b = i % 11 === 0 ? 'NaN' : String(((i * 13) % 17) / 4);
    lines.push(`${(i * 37) % 101 > 50 ? 1 : 0},${a},${b}`);
  }
  return `${lines.join('\n')}\n`;
}

test('a CSV channel trains the model XGBoost trains on the same rows with empty and NaN fields as missing', async () => {
  const csv = rowsWithMissing();
  await store.put('s3://models/ch/part-0.csv', csv.split('\n').slice(0, 120).join('\n') + '\n');
  await store.put('s3://models/ch/part-1.csv', csv.split('\n').slice(120).join('\n'));
  const outcome = await runLocalTrainingJob(job('parity'), store, join(root, 'logs'));
  expect(outcome).toMatchObject({ TrainingJobStatus: 'Completed' });
  // The built-in algorithm's own metrics: each channel's eval_metric at the last round.
  const metrics = outcome.FinalMetricDataList as { MetricName: string; Value: number }[];
  expect(metrics.map((m) => m.MetricName)).toEqual(['train:logloss']);
  expect(metrics[0].Value).toBeGreaterThan(0);
  expect(metrics[0].Value).toBeLessThan(Math.log(2));
  const artifact = (outcome.ModelArtifacts as { S3ModelArtifacts: string }).S3ModelArtifacts;
  const [entry] = parseTar(gunzipSync(await store.get(artifact)));
  expect(entry.name).toBe('xgboost-model');
  expect(Buffer.from(entry.data!).subarray(0, 4).toString('latin1')).toBe('binf');

  // The reference: the same rows parsed by Python into a dense matrix with NaN for missing, trained alike.
  const modelPath = join(root, 'ours.bin');
  writeFileSync(modelPath, entry.data!);
  writeFileSync(join(root, 'rows.csv'), csv);
  const reference = spawnSync(
    SYSTEM_PYTHON,
    [
      '-c',
      [
        'import sys, numpy as np, xgboost as xgb',
        'rows = [[float(v) if v not in ("", "NaN") else np.nan for v in l.split(",")] for l in open(sys.argv[1]).read().split()]',
        'x = np.array(rows, dtype=np.float32)',
        'd = xgb.DMatrix(x[:, 1:], label=x[:, 0], missing=np.nan)',
        'params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1}',
        'ref = xgb.train(params, d, num_boost_round=5)',
        'ours = xgb.Booster(model_file=sys.argv[2])',
        'print(int(np.array_equal(ref.predict(d, output_margin=True), ours.predict(d, output_margin=True))))',
        'print(int(np.isnan(x[:, 1:]).sum()))',
      ].join('\n'),
      join(root, 'rows.csv'),
      modelPath,
    ],
    { encoding: 'utf8' },
  );
  expect(reference.stderr).toBe('');
  const [same, missing] = reference.stdout.trim().split('\n').map(Number);
  expect(missing).toBeGreaterThan(40); // the rows really do have missing values
  expect(same).toBe(1);
});

test('a channel that is not CSV is refused, naming the channel and the content type', async () => {
  await store.put('s3://models/ch/part-0', '1 1:0.5\n');
  const error = await failureOf(job('libsvm', 'text/libsvm'));
  expect(error.message).toContain('channel train: content type text/libsvm is not supported locally (use text/csv)');
});

test('a CSV label_size other than 1 is refused as the container refuses it', async () => {
  await store.put('s3://models/ch/part-0.csv', '1,0.5\n0,0.7\n');
  const error = await failureOf(job('label-size', 'text/csv; label_size=2'));
  expect(error.message).toContain('label_size must be 1');
});

test('a channel with only a label column names the parser problem without a stack trace', async () => {
  await store.put('s3://models/ch/part-0.csv', '1\n0\n');
  const error = await failureOf(job('one-column'));
  expect(error.message).toMatch(/channel train: XGBoost cannot read the CSV: Delimiter ',' is not found/);
  expect(error.message).not.toContain('[bt]');
  expect(error.message).not.toContain('Stack trace');
});

test('a missing label is refused', async () => {
  await store.put('s3://models/ch/part-0.csv', '1,0.5\nNaN,0.7\n');
  const error = await failureOf(job('nan-label'));
  expect(error.message).toContain('channel train: the label column has missing values');
});

test('a job without a train channel is refused', async () => {
  const error = await failureOf(job('no-data'));
  expect(error.message).toContain('channel train is required');
  expect(readFileSync(join(root, 'logs', 'no-data.log'), 'utf8')).toContain('channel train is required');
});

test('metric definitions are refused before anything runs, as SageMaker refuses them for a built-in algorithm', async () => {
  const request = job('custom-metrics');
  const withDefinitions: TrainingJobRequest = {
    ...request,
    AlgorithmSpecification: { MetricDefinitions: [{ Name: 'train:auc', Regex: 'auc:(\\S+)' }] },
  };
  const error = await runLocalTrainingJob(withDefinitions, store, join(root, 'logs')).then(
    () => undefined,
    (e: unknown) => e as StepError,
  );
  expect(error).toBeInstanceOf(StepError);
  expect(error!.name).toBe('TrainingFailed');
  expect(error!.message).toMatch(/ValidationException.*MetricDefinitions/);
});
