/** `mlp serve`. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEnvironment } from '../../config';
import { loadScoringModel, type ScoringModel } from '../../lambdas/scorer/scoring-model';
import { followLocalAlias } from '../../local/alias-model';
import { startLocalScorer } from '../../local/scoring-server';
import { localCaptureBucket, localLayout, mlpHome } from '../../local/local-home';
import { capture } from '../../contracts/s3-layout';
import { UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { parsePort } from '../../terminal/options';

/** Options of `mlp serve`. */
export interface ServeOptions {
  readonly model?: string;
  readonly spec?: string;
  readonly modelVersion?: string;
  readonly baseline?: string;
  readonly local?: string | true;
  readonly port: string;
}

/** `mlp serve`: runs until SIGTERM or SIGINT, then drains. */
export async function serve(options: ServeOptions): Promise<void> {
  const port = parsePort(options.port);
  const home = mlpHome();
  if (options.model && options.local !== undefined) {
    throw new UsageError('give --model PATH or --local [ENV] (the live alias), not both');
  }
  // --local asks for the alias even where the environment names a MODEL_URI.
  const modelUri = options.model
    ? resolve(options.model)
    : options.local === undefined
      ? process.env.MODEL_URI
      : undefined;
  let model: () => Promise<ScoringModel>;
  let logFile: string;
  let serving: string;
  let captureDir: string | undefined;
  if (modelUri) {
    const specUri = options.spec ? resolve(options.spec) : process.env.FEATURE_SPEC_URI;
    const loaded = await loadScoringModel({
      modelUri,
      featureSpecUri: specUri || undefined,
      modelVersion: options.modelVersion ?? (process.env.MODEL_VERSION || undefined),
      // Checked when given; else the file's own, so that GET /version says which bytes are served.
      modelSha256: process.env.MODEL_SHA256 || fileSha256(modelUri),
      baselineUri: options.baseline ? resolve(options.baseline) : process.env.BASELINE_URI || undefined,
    });
    if (loaded.baselineProblem) throw new UsageError(`--baseline: ${loaded.baselineProblem}`);
    model = async () => loaded;
    logFile = join(home, 'logs', 'scorer.log');
    serving = `${loaded.version} (${loaded.predictor.model.objective}, ${loaded.predictor.model.numTrees} trees)`;
  } else {
    if (options.spec) throw new UsageError('--spec goes with --model PATH');
    if (options.baseline) throw new UsageError('--baseline goes with --model PATH (the live alias names its own)');
    const env = loadEnvironment(typeof options.local === 'string' ? options.local : 'dev').name;
    const layout = localLayout(home, env);
    model = followLocalAlias(layout.serving);
    const first = await model().catch((error: Error) => {
      throw new UsageError(error.message, 'run mlp retrain (or mlp demo) first, or give --model PATH');
    });
    logFile = join(layout.logs, 'scorer.log');
    serving = `${env}'s live alias (now ${first.version})`;
    const dataset = loadEnvironment(env).retraining.dataset;
    captureDir = join(layout.objects, localCaptureBucket(env), capture.datasetPrefix(dataset));
  }
  const hadLog = existsSync(logFile);
  const running = await startLocalScorer(model, {
    port,
    logFile,
    captureDir,
    drift: driftOptions(options.local),
  }).catch((error: NodeJS.ErrnoException) => {
    if (!hadLog) rmSync(logFile, { force: true }); // nothing was served: leave no log behind
    if (error.code === 'EADDRINUSE') {
      throw new UsageError(`port ${port} is in use`, 'give another --port, or --port 0 for any free one');
    }
    throw error;
  });
  new CommandOutput({}).note(
    `serving ${serving} at ${running.url} (POST /score, GET /health /version /openapi.json /metrics); logs in ${logFile}` +
      (captureDir ? `; captures in ${captureDir}` : ''),
    { url: running.url, logFile, ...(captureDir ? { captureDir } : {}) },
  );
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await running.close();
}

/** How /metrics judges drift: the environment's thresholds (dev's for a model file). */
function driftOptions(local: string | true | undefined) {
  const { alarms } = loadEnvironment(typeof local === 'string' ? local : 'dev');
  return { psiThreshold: alarms.driftPsi, minRecords: alarms.driftMinRecords };
}

/** SHA-256 of a local model file (an `s3://` URI is left to MODEL_SHA256). */
function fileSha256(uri: string): string | undefined {
  if (/^s3:\/\//.test(uri)) return undefined;
  return createHash('sha256')
    .update(readFileSync(uri.startsWith('file://') ? new URL(uri) : uri))
    .digest('hex');
}
