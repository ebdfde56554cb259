/**
 * Our side of `npm run bench:scorer`, run by it as a bundle in a fresh process:
 * `node predictor-timing.js DIR ROWS SINGLE`. Reads DIR/model.tar.gz and DIR/rows.f32 (what xgboost_side.py
 * wrote), checks the first 1,000 margins against XGBoost's bit for bit, then times single-row latency and
 * batch throughput on one core. Prints one JSON object ({@link PredictorTiming}).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';

/** What the timing process reports. */
export interface PredictorTiming {
  readonly single_p50_us: number;
  readonly single_p99_us: number;
  readonly batch_rows_per_s: number;
  readonly model: { readonly trees: number; readonly max_depth: number; readonly features: number };
}

function floats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function main(): void {
  const [dir, rowsArg, singleArg] = process.argv.slice(2);
  const rows = Number(rowsArg);
  const single = Number(singleArg);
  const predictor = new Predictor(readModel(readFileSync(join(dir, 'model.tar.gz'))));
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
  for (let i = 0; i < single; i++) {
    const row = x.subarray((i % rows) * width, ((i % rows) + 1) * width);
    const t0 = process.hrtime.bigint();
    predictor.predict(row, 1, out);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  latencies.sort((a, b) => a - b);

  // Batch throughput on one core: the best of three passes.
  const outputs = new Float64Array(rows);
  predictor.predict(x.subarray(0, 5000 * width), 5000, outputs);
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    predictor.predict(x, rows, outputs);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }

  const timing: PredictorTiming = {
    single_p50_us: latencies[Math.floor(single / 2)],
    single_p99_us: latencies[Math.floor(single * 0.99)],
    batch_rows_per_s: rows / best,
    model: {
      trees: predictor.model.numTrees,
      max_depth: Math.max(...predictor.model.treeDepth),
      features: width,
    },
  };
  console.log(JSON.stringify(timing));
}

main();
