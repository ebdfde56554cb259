/**
 * `npm run bench:explain`: the cost of explaining one record — exact TreeSHAP contributions — against XGBoost
 * 1.7.4's own `pred_contribs` (nthread=1) on the same model and rows, in one run. Model: bench:scorer's (300 trees
 * of depth 6 over 30 features, ~5% missing, binary:logistic). Each side explains BENCH_EXPLAIN_SINGLE rows one at
 * a time (XGBoost: a DMatrix per row, as a scorer explaining a request would); the figures are per-record
 * medians, each side's median over three turns in fresh processes; XGBoost's per-record cost in a 1,000-row batch
 * is reported beside it. Our contributions are checked against XGBoost's on 1,000 rows first. The last line is
 * one JSON object with `explain_speedup` (single records).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_TARGET } from '../../lib/lambda-bundling';

const SINGLE = Number(process.env.BENCH_EXPLAIN_SINGLE ?? 5_000);
const TURNS = 3;
const ROWS = 20_000;
const root = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-explain-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface SideTiming {
  readonly single_p50_us: number;
  readonly single_p99_us: number;
}

async function main(): Promise<void> {
  const python = (script: string, ...args: string[]) =>
    execFileSync('/usr/bin/python3', [join(root, 'bench', script), ...args], { encoding: 'utf8' });
  console.error('training the benchmark model…');
  python('scorer/xgboost_side.py', 'train', dir, String(ROWS));
  const timing = join(dir, 'explain-timing.js');
  await build({
    entryPoints: [join(__dirname, 'explain-timing.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'cjs',
    outfile: timing,
    logLevel: 'error',
  });
  console.error(`explaining ${SINGLE} single rows per side, three turns each…`);
  const theirs: (SideTiming & { xgboost: string; batch_us_per_record: number })[] = [];
  const ours: (SideTiming & { max_abs_diff_vs_xgboost: number; trees: number })[] = [];
  for (let turn = 0; turn < TURNS; turn++) {
    theirs.push(JSON.parse(python('explain/xgboost_side.py', dir, String(SINGLE))));
    ours.push(JSON.parse(execFileSync(process.execPath, [timing, dir, String(SINGLE)], { encoding: 'utf8' })));
  }
  const maxDiff = Math.max(...ours.map((o) => o.max_abs_diff_vs_xgboost));
  if (!(maxDiff < 1e-5)) throw new Error(`our contributions differ from XGBoost's by ${maxDiff}`);
  const ourP50 = median(ours.map((o) => o.single_p50_us));
  const theirP50 = median(theirs.map((t) => t.single_p50_us));
  const result = {
    explain_speedup: Math.round((theirP50 / ourP50) * 100) / 100,
    ours_us_per_record: Math.round(ourP50 * 10) / 10,
    xgboost_us_per_record: Math.round(theirP50 * 10) / 10,
    ours_p99_us: Math.round(median(ours.map((o) => o.single_p99_us)) * 10) / 10,
    xgboost_p99_us: Math.round(median(theirs.map((t) => t.single_p99_us)) * 10) / 10,
    // XGBoost explaining 1,000 rows in one call (its per-tree means computed once per call, not per row).
    xgboost_batch_us_per_record: Math.round(median(theirs.map((t) => t.batch_us_per_record)) * 10) / 10,
    max_abs_diff_vs_xgboost: maxDiff,
    trees: ours[0].trees,
    features: 30,
    rows_explained: SINGLE,
    xgboost: theirs[0].xgboost,
    node: process.version,
  };
  console.log(
    `explaining one record: ours ${result.ours_us_per_record} µs, XGBoost pred_contribs ${result.xgboost_us_per_record} µs ` +
      `(${result.explain_speedup}x); largest difference ${maxDiff.toExponential(2)}`,
  );
  console.log(JSON.stringify(result));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
