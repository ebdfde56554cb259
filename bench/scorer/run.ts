/**
 * `npm run bench:scorer`: the scorer against XGBoost 1.7.4 (nthread=1) on the same model and rows, in one run.
 * Model: 300 trees of depth 6 over 30 features, ~5% missing, binary:logistic. Reports:
 *  - single-row latency p50/p99 (ours: Predictor.predict on one float32 row; XGBoost: inplace_predict);
 *  - batch throughput on one core (ours: Predictor.predict over all rows; XGBoost: inplace_predict);
 *  - the minified Lambda bundle size and cold start (import + model load) above a bare `node -e 0`.
 * The last line is one JSON object with the ratios and the raw figures behind them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 20_000);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
const root = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const floats = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

async function main(): Promise<void> {
  console.error(`training the benchmark model and timing XGBoost (${ROWS} rows)…`);
  const xgb = JSON.parse(
    execFileSync('/usr/bin/python3', [join(__dirname, 'xgboost_side.py'), dir, String(ROWS), String(SINGLE)], {
      encoding: 'utf8',
    }),
  );

  const modelPath = join(dir, 'model.tar.gz');
  const predictor = new Predictor(readModel(readFileSync(modelPath)));
  const x = floats(join(dir, 'rows.f32'));
  const width = predictor.numFeature;
  const reference = floats(join(dir, 'reference_margin.f32'));
  const margins = predictor.predictMargin(x.subarray(0, 1000 * width), 1000, new Float32Array(1000));
  const mismatches = reference.reduce((n, v, i) => n + (Object.is(v, margins[i]) ? 0 : 1), 0);
  if (mismatches > 0) throw new Error(`parity check failed: ${mismatches} of 1000 margins differ from XGBoost`);

  // Single-row latency.
  const out = new Float64Array(1);
  for (let i = 0; i < 2000; i++) predictor.predict(x.subarray(i * width, (i + 1) * width), 1, out);
  const latencies: number[] = [];
  for (let i = 0; i < SINGLE; i++) {
    const row = x.subarray((i % ROWS) * width, ((i % ROWS) + 1) * width);
    const t0 = process.hrtime.bigint();
    predictor.predict(row, 1, out);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(SINGLE / 2)];
  const p99 = latencies[Math.floor(SINGLE * 0.99)];

  // Batch throughput on one core.
  const outputs = new Float64Array(ROWS);
  predictor.predict(x.subarray(0, 5000 * width), 5000, outputs);
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    predictor.predict(x, ROWS, outputs);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  const rowsPerSecond = ROWS / best;

  // Bundle size and cold start, with the same esbuild options the CDK app uses.
  const bundle = join(dir, 'scorer', 'index.js');
  await build({
    entryPoints: [join(root, 'lambdas', 'scorer', 'handler.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    outfile: bundle,
    logLevel: 'error',
  });
  const bundleKb = statSync(bundle).size / 1024;
  const time = (args: string[], env: NodeJS.ProcessEnv) => {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cold-start probe failed: ${result.stderr}`);
    return performance.now() - t0;
  };
  const bare: number[] = [];
  const cold: number[] = [];
  const probe = `require(${JSON.stringify(bundle)}).handler; require(${JSON.stringify(bundle)}).currentModel().then(()=>0, e=>{console.error(e.message);process.exit(1)})`;
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
    single_row_speedup: xgb.single_p50_us / p50,
    single_row_p99_speedup: xgb.single_p99_us / p99,
    batch_ratio: rowsPerSecond / xgb.batch_rows_per_s,
    bundle_kb: Math.round(bundleKb * 10) / 10,
    init_ms: Math.round(initMs * 10) / 10,
    ours: { single_p50_us: p50, single_p99_us: p99, batch_rows_per_s: Math.round(rowsPerSecond) },
    xgboost: { ...xgb, batch_rows_per_s: Math.round(xgb.batch_rows_per_s) },
    cold_start: { bare_node_ms: median(bare), import_and_load_ms: median(cold), runs: COLD_RUNS },
    model: {
      trees: predictor.model.numTrees,
      max_depth: Math.max(...predictor.model.treeDepth),
      features: width,
      file_kb: Math.round(statSync(modelPath).size / 1024),
    },
    node: process.version,
  };
  console.log(
    `single row p50: ours ${p50.toFixed(2)} µs, XGBoost ${xgb.single_p50_us.toFixed(2)} µs (${result.single_row_speedup.toFixed(1)}x)`,
  );
  console.log(
    `batch, one core: ours ${Math.round(rowsPerSecond)} rows/s, XGBoost ${Math.round(xgb.batch_rows_per_s)} rows/s (${result.batch_ratio.toFixed(2)}x)`,
  );
  console.log(`bundle ${result.bundle_kb} KB, cold start +${result.init_ms} ms over bare node`);
  console.log(JSON.stringify(result));
}

main().catch((error: Error) => {
  console.error(`bench:scorer failed: ${error.message}`);
  process.exit(1);
});
