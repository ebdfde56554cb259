/**
 * TreeSHAP contributions equal XGBoost 1.7.4's own `predict(pred_contribs=True)` within 1e-5 for every fixture
 * model (each objective the scorer supports, DART, categorical splits) in every file format the reader takes,
 * on rows with missing values, rows on split thresholds and all-missing rows; and each group's contributions
 * sum to the margin the evaluator computes.
 */
import { readFileSync } from 'node:fs';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { TreeShap } from '../../lambdas/xgboost/tree-shap';
import { rowsAsMatrix, xgboostFixtures } from '../support/xgboost-fixtures';

const fixtures = xgboostFixtures();
const cases = fixtures.cases.flatMap((c) =>
  Object.entries(c.files).map(([format, path]) => [c.name, format, path, c] as const),
);

test.each(cases)('%s (%s): contributions are XGBoost pred_contribs', (_name, _format, path, fixture) => {
  const model = readModel(readFileSync(path));
  const shap = new TreeShap(model);
  const width = (model.numFeature + 1) * model.numGroup;
  const matrix = rowsAsMatrix(fixture.rows, model.numFeature);
  const margins = new Predictor(model).predictMargin(
    matrix,
    fixture.rows.length,
    new Float32Array(fixture.rows.length * model.numGroup),
  );
  let worst = 0;
  fixture.rows.forEach((_row, r) => {
    const ours = shap.contributions(matrix.subarray(r * model.numFeature, (r + 1) * model.numFeature));
    const theirs = fixture.contribs[r];
    expect(theirs).toHaveLength(width);
    for (let i = 0; i < width; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    for (let g = 0; g < model.numGroup; g++) {
      const sum = ours
        .subarray(g * (model.numFeature + 1), (g + 1) * (model.numFeature + 1))
        .reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - margins[r * model.numGroup + g])).toBeLessThan(1e-4);
    }
  });
  expect(worst).toBeLessThan(1e-5);
});

test('a model file without node covers cannot be explained, and says so', () => {
  const json = fixtures.cases.find((c) => c.name === 'binary_logistic')!.files.json;
  const document = JSON.parse(readFileSync(json, 'utf8'));
  for (const tree of document.learner.gradient_booster.model.trees) delete tree.sum_hessian;
  const model = readModel(Buffer.from(JSON.stringify(document)));
  expect(model.cover).toBeUndefined();
  expect(() => new TreeShap(model)).toThrow('the model file holds no node covers (sum_hessian)');
});

test('a split whose cover is 0 is refused by name: its children would have no share', () => {
  const json = fixtures.cases.find((c) => c.name === 'binary_logistic')!.files.json;
  const document = JSON.parse(readFileSync(json, 'utf8'));
  document.learner.gradient_booster.model.trees[0].sum_hessian[0] = 0;
  const model = readModel(Buffer.from(JSON.stringify(document)));
  expect(() => new TreeShap(model)).toThrow(
    "node 0 (a split) has cover 0: its children's shares, and so contributions, are undefined",
  );
});

test('a row of the wrong width is refused by name', () => {
  const model = readModel(readFileSync(fixtures.cases[0].files.json));
  expect(() => new TreeShap(model).contributions([1, 2])).toThrow(
    `a row has 2 values, the model ${model.numFeature} features`,
  );
});

test('a row of plain numbers is read as the float32s the evaluator reads, right below a threshold too', () => {
  const fixture = fixtures.cases.find((c) => c.name === 'categorical')!;
  // XGBoost writes NaN (the condition of a categorical split) into its JSON.
  const document = JSON.parse(readFileSync(fixture.files.json, 'utf8').replace(/\bNaN\b/g, 'null'));
  const shap = new TreeShap(readModel(readFileSync(fixture.files.json)));
  let checked = 0;
  for (const tree of document.learner.gradient_booster.model.trees) {
    tree.left_children.forEach((left: number, node: number) => {
      const threshold = tree.split_conditions[node];
      if (left === -1 || tree.split_type[node] !== 0 || typeof threshold !== 'number' || threshold === 0) return;
      // A double just below a float32 threshold: it rounds to the threshold, which goes right.
      const row = fixture.rows[0].map((v) => (v === null ? Number.NaN : v));
      row[tree.split_indices[node]] = threshold - Math.abs(threshold) * 1e-12;
      expect(Array.from(shap.contributions(row))).toEqual(Array.from(shap.contributions(Float32Array.from(row))));
      checked++;
    });
  }
  expect(checked).toBeGreaterThan(5);
});

test('the deep fixture reaches paths longer than the feature count: features split on again', () => {
  const fixture = fixtures.cases.find((c) => c.name === 'deep_lossguide')!;
  const model = readModel(readFileSync(fixture.files.json));
  // Deeper than there are features: some path splits on a feature twice (the combined-factor case).
  expect(Math.max(...model.treeDepth)).toBeGreaterThan(model.numFeature);
});
