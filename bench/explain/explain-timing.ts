/**
 * Our side of `npm run bench:explain`, run as an esbuild bundle in a fresh node process (see bench/scorer):
 * loads the model, checks TreeSHAP against XGBoost's reference contributions, and times one row at a time.
 * Prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModel } from '../../lambdas/xgboost/read-model';
import { TreeShap } from '../../lambdas/xgboost/tree-shap';

const [dir, singleText] = process.argv.slice(2);
const single = Number(singleText);
const model = readModel(readFileSync(join(dir, 'model.tar.gz')));
const shap = new TreeShap(model);
const F = model.numFeature;
const file = readFileSync(join(dir, 'rows.f32'));
const rows = new Float32Array(file.buffer, file.byteOffset, file.byteLength / 4);
const refFile = readFileSync(join(dir, 'reference_contribs.f64'));
const reference = new Float64Array(refFile.buffer.slice(refFile.byteOffset, refFile.byteOffset + refFile.byteLength));
const width = F + 1;
let maxDiff = 0;
for (let r = 0; r < reference.length / width; r++) {
  const ours = shap.contributions(rows.subarray(r * F, (r + 1) * F));
  for (let i = 0; i < width; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - reference[r * width + i]));
}
const count = rows.length / F;
const times: number[] = [];
let sink = 0;
for (let i = 0; i < single; i++) {
  const r = i % count;
  const t0 = process.hrtime.bigint();
  sink += shap.contributions(rows.subarray(r * F, (r + 1) * F))[F];
  times.push(Number(process.hrtime.bigint() - t0) / 1000);
}
times.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    single_p50_us: times[Math.floor(times.length / 2)],
    single_p99_us: times[Math.floor(0.99 * (times.length - 1))],
    max_abs_diff_vs_xgboost: maxDiff,
    trees: model.numTrees,
    checksum: sink,
  })}\n`,
);
