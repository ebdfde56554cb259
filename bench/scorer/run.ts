/**
 * `npm run bench:scorer`: the scorer against XGBoost 1.7.4 (nthread=1) on the same model and rows, in one run.
 * Model: 300 trees of depth 6 over 30 features, ~5% missing, binary:logistic. Reports:
 *  - single-row latency p50/p99 (ours: Predictor.predict on one float32 row; XGBoost: inplace_predict);
 *  - batch throughput on one core (ours: Predictor.predict over all rows; XGBoost: inplace_predict);
 *    the two sides take three turns in fresh processes and each figure is the median of its side's;
 *  - the minified Lambda bundle size and cold start: import + model load above a bare `node -e 0`, from the
 *    time each process reports when its work is done (whole-process wall times beside it).
 * The last line is one JSON object with the ratios and the raw figures behind them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { numericSpec } from '../../lambdas/features/feature-spec';
import { BUNDLE_ALIASES, BUNDLE_EXTERNALS, BUNDLE_TARGET } from '../../lib/lambda-bundling';
import type { PredictorTiming } from './predictor-timing';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 20_000);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 31);
/** Timing processes per side; each reported figure is the median of its side's. */
const TIMING_PROCESSES = 3;
const root = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-'));

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.round(q * (xs.length - 1))];
const median = (xs: number[]) => quantile(xs, 0.5);
const round1 = (x: number) => Math.round(x * 10) / 10;

/** What xgboost_side.py time prints. */
interface XgboostTiming extends Timing {
  readonly xgboost: string;
  readonly trees: number;
  readonly features: number;
  readonly rows: number;
}

/** The figures both timing sides report. */
type Timing = Pick<PredictorTiming, 'single_p50_us' | 'single_p99_us' | 'batch_rows_per_s'>;

/** Each figure's median over a side's timing processes. */
function medianTiming(processes: readonly Timing[]): Timing {
  return {
    single_p50_us: median(processes.map((p) => p.single_p50_us)),
    single_p99_us: median(processes.map((p) => p.single_p99_us)),
    batch_rows_per_s: median(processes.map((p) => p.batch_rows_per_s)),
  };
}

/** One timing process's figures, as listed in the output. */
const processFigures = (p: Timing) => ({
  single_p50_us: p.single_p50_us,
  batch_rows_per_s: Math.round(p.batch_rows_per_s),
});

/** Bundles an entry point with the esbuild settings the CDK app uses for the scorer (lib/lambda-bundling.ts). */
const bundle = (entry: string, outfile: string, external: readonly string[] = []) =>
  build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'cjs',
    external: [...external],
    alias: Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([from, to]) => [from, resolve(root, to)])),
    outfile,
    logLevel: 'error',
  });

async function main(): Promise<void> {
  console.error(`training the benchmark model (${ROWS} rows)…`);
  const xgboostSide = (...args: string[]) =>
    execFileSync('/usr/bin/python3', [join(__dirname, 'xgboost_side.py'), ...args], { encoding: 'utf8' });
  xgboostSide('train', dir, String(ROWS));

  const modelPath = join(dir, 'model.tar.gz');
  // Our side runs as an esbuild bundle in a fresh node process: the code that ships, in an isolate that a
  // TypeScript loader has not touched (tsx compiling a file mid-run detaches an ArrayBuffer, after which
  // V8 guards every typed-array access in optimised code and the figures drop by a third or more).
  const timing = join(dir, 'predictor-timing.js');
  await bundle(join(__dirname, 'predictor-timing.ts'), timing);
  // The two sides take turns, three timing processes each, and every figure is the median of its side's
  // three: on this kind of VM, stretches of some seconds come in which node processes run up to half slower
  // (Python ones were not seen to), and one such process must not set a side's figures.
  console.error('timing XGBoost and our predictor, three turns each…');
  const theirs: XgboostTiming[] = [];
  const runs: PredictorTiming[] = [];
  for (let turn = 0; turn < TIMING_PROCESSES; turn++) {
    theirs.push(JSON.parse(xgboostSide('time', dir, String(SINGLE))) as XgboostTiming);
    runs.push(
      JSON.parse(
        execFileSync(process.execPath, [timing, dir, String(ROWS), String(SINGLE)], { encoding: 'utf8' }),
      ) as PredictorTiming,
    );
  }
  const xgb: XgboostTiming = { ...theirs[0], ...medianTiming(theirs) };
  const ours: PredictorTiming = { ...runs[0], ...medianTiming(runs) };

  // Bundle size and cold start, with the same esbuild options the CDK app uses.
  const scorer = join(dir, 'scorer', 'index.js');
  await bundle(join(root, 'lambdas', 'scorer', 'handler.ts'), scorer, BUNDLE_EXTERNALS);
  const bundleKb = statSync(scorer).size / 1024;
  // Each probe prints process.uptime() when its work is done (ms since its process started; unlike the
  // `performance` global it loads nothing): the import and model load above a bare node are the difference
  // of those in-process times. Whole-process wall times, which also count tearing the process down (a larger
  // heap, V8 finishing background compile jobs), are reported beside them. Medians of interleaved runs; the
  // 25th percentiles are reported too, as processes on this kind of VM come in a fast and a slow mode.
  const run = (script: string, env: NodeJS.ProcessEnv) => {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    const wall = performance.now() - t0;
    const done = Number(result.stdout.trim().split('\n').pop());
    if (result.status !== 0 || !Number.isFinite(done)) throw new Error(`cold-start probe failed: ${result.stderr}`);
    return { wall, done };
  };
  const report = 'const done = process.uptime() * 1000; process.stdout.write("\\n" + done)';
  const bareScript = `0; ${report}`;
  const probe = `require(${JSON.stringify(scorer)}).handler; require(${JSON.stringify(scorer)}).currentModel().then(() => { ${report} }, e => { console.error(e.message); process.exit(1) })`;
  const env = {
    PATH: process.env.PATH,
    MODEL_URI: modelPath,
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    POWERTOOLS_DEV: 'false',
  };
  // Also as a retraining Deploy configures the function: with its feature spec and the registry's SHA-256.
  const specPath = join(dir, 'feature-spec.json');
  writeFileSync(specPath, JSON.stringify(numericSpec(ours.model.features)));
  const deployedEnv = {
    ...env,
    FEATURE_SPEC_URI: specPath,
    MODEL_SHA256: createHash('sha256').update(readFileSync(modelPath)).digest('hex'),
  };
  type Probe = { wall: number; done: number };
  const bare: Probe[] = [];
  const cold: Probe[] = [];
  const deployed: Probe[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    bare.push(run(bareScript, env));
    cold.push(run(probe, env));
    deployed.push(run(probe, deployedEnv));
  }
  const doneAt = (p: Probe) => p.done;
  const done = (probes: Probe[], q = 0.5) => quantile(probes.map(doneAt), q);
  const wall = (probes: Probe[]) => median(probes.map((p) => p.wall));
  const initMs = done(cold) - done(bare);

  const result = {
    single_row_speedup: xgb.single_p50_us / ours.single_p50_us,
    single_row_p99_speedup: xgb.single_p99_us / ours.single_p99_us,
    batch_ratio: ours.batch_rows_per_s / xgb.batch_rows_per_s,
    bundle_kb: round1(bundleKb),
    init_ms: round1(initMs),
    ours: {
      single_p50_us: ours.single_p50_us,
      single_p99_us: ours.single_p99_us,
      batch_rows_per_s: Math.round(ours.batch_rows_per_s),
      processes: runs.map(processFigures),
    },
    xgboost: {
      ...xgb,
      batch_rows_per_s: Math.round(xgb.batch_rows_per_s),
      processes: theirs.map(processFigures),
    },
    cold_start: {
      runs: COLD_RUNS,
      bare_node_done_ms: done(bare),
      import_and_load_done_ms: done(cold),
      init_p25_ms: round1(done(cold, 0.25) - done(bare, 0.25)),
      bare_node_wall_ms: wall(bare),
      import_and_load_wall_ms: wall(cold),
      wall_above_bare_ms: round1(wall(cold) - wall(bare)),
      with_spec_and_sha256_ms: round1(done(deployed) - done(bare)),
    },
    model: { ...ours.model, file_kb: Math.round(statSync(modelPath).size / 1024) },
    node: process.version,
  };
  console.log(
    `single row p50: ours ${ours.single_p50_us.toFixed(2)} µs, XGBoost ${xgb.single_p50_us.toFixed(2)} µs (${result.single_row_speedup.toFixed(1)}x)`,
  );
  console.log(
    `batch, one core: ours ${Math.round(ours.batch_rows_per_s)} rows/s, XGBoost ${Math.round(xgb.batch_rows_per_s)} rows/s (${result.batch_ratio.toFixed(2)}x)`,
  );
  console.log(
    `bundle ${result.bundle_kb} KB, cold start +${result.init_ms} ms over bare node (whole process, with teardown: +${result.cold_start.wall_above_bare_ms} ms; with feature spec and SHA-256 check: +${result.cold_start.with_spec_and_sha256_ms} ms)`,
  );
  console.log(JSON.stringify(result));
}

main().catch((error: Error) => {
  console.error(`bench:scorer failed: ${error.message}`);
  process.exit(1);
});
