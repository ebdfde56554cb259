/**
 * `npm run bench:scorer`: the scorer against XGBoost 1.7.4 (nthread=1) on the same model and rows, in one run.
 * Model: 300 trees of depth 6 over 30 features, ~5% missing, binary:logistic. Reports:
 *  - single-row latency p50/p99 (ours: Predictor.predict on one float32 row; XGBoost: inplace_predict);
 *  - batch throughput on one core (ours: Predictor.predict over all rows; XGBoost: inplace_predict);
 *  - the minified Lambda bundle size and cold start (import + model load) above a bare `node -e 0`.
 * The last line is one JSON object with the ratios and the raw figures behind them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_ALIASES, BUNDLE_EXTERNALS, BUNDLE_TARGET } from '../../lib/lambda-bundling';
import type { PredictorTiming } from './predictor-timing';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 20_000);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
const root = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
  console.error(`training the benchmark model and timing XGBoost (${ROWS} rows)…`);
  const xgb = JSON.parse(
    execFileSync('/usr/bin/python3', [join(__dirname, 'xgboost_side.py'), dir, String(ROWS), String(SINGLE)], {
      encoding: 'utf8',
    }),
  );

  const modelPath = join(dir, 'model.tar.gz');
  // Our side runs as an esbuild bundle in a fresh node process: the code that ships, in an isolate that a
  // TypeScript loader has not touched (tsx compiling a file mid-run detaches an ArrayBuffer, after which
  // V8 guards every typed-array access in optimised code and the figures drop by a third or more).
  const timing = join(dir, 'predictor-timing.js');
  await bundle(join(__dirname, 'predictor-timing.ts'), timing);
  const ours = JSON.parse(
    execFileSync(process.execPath, [timing, dir, String(ROWS), String(SINGLE)], { encoding: 'utf8' }),
  ) as PredictorTiming;

  // Bundle size and cold start, with the same esbuild options the CDK app uses.
  const scorer = join(dir, 'scorer', 'index.js');
  await bundle(join(root, 'lambdas', 'scorer', 'handler.ts'), scorer, BUNDLE_EXTERNALS);
  const bundleKb = statSync(scorer).size / 1024;
  const time = (args: string[], env: NodeJS.ProcessEnv) => {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cold-start probe failed: ${result.stderr}`);
    return performance.now() - t0;
  };
  const bare: number[] = [];
  const cold: number[] = [];
  const probe = `require(${JSON.stringify(scorer)}).handler; require(${JSON.stringify(scorer)}).currentModel().then(()=>0, e=>{console.error(e.message);process.exit(1)})`;
  const env = {
    PATH: process.env.PATH,
    MODEL_URI: modelPath,
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    POWERTOOLS_DEV: 'false',
  };
  for (let i = 0; i < COLD_RUNS; i++) {
    bare.push(time(['-e', '0'], env));
    cold.push(time(['-e', probe], env));
  }
  const initMs = median(cold) - median(bare);

  const result = {
    single_row_speedup: xgb.single_p50_us / ours.single_p50_us,
    single_row_p99_speedup: xgb.single_p99_us / ours.single_p99_us,
    batch_ratio: ours.batch_rows_per_s / xgb.batch_rows_per_s,
    bundle_kb: Math.round(bundleKb * 10) / 10,
    init_ms: Math.round(initMs * 10) / 10,
    ours: {
      single_p50_us: ours.single_p50_us,
      single_p99_us: ours.single_p99_us,
      batch_rows_per_s: Math.round(ours.batch_rows_per_s),
    },
    xgboost: { ...xgb, batch_rows_per_s: Math.round(xgb.batch_rows_per_s) },
    cold_start: { bare_node_ms: median(bare), import_and_load_ms: median(cold), runs: COLD_RUNS },
    model: { ...ours.model, file_kb: Math.round(statSync(modelPath).size / 1024) },
    node: process.version,
  };
  console.log(
    `single row p50: ours ${ours.single_p50_us.toFixed(2)} µs, XGBoost ${xgb.single_p50_us.toFixed(2)} µs (${result.single_row_speedup.toFixed(1)}x)`,
  );
  console.log(
    `batch, one core: ours ${Math.round(ours.batch_rows_per_s)} rows/s, XGBoost ${Math.round(xgb.batch_rows_per_s)} rows/s (${result.batch_ratio.toFixed(2)}x)`,
  );
  console.log(`bundle ${result.bundle_kb} KB, cold start +${result.init_ms} ms over bare node`);
  console.log(JSON.stringify(result));
}

main().catch((error: Error) => {
  console.error(`bench:scorer failed: ${error.message}`);
  process.exit(1);
});
