/**
 * Split counts per feature equal XGBoost's own `get_score(importance_type="weight")` for every fixture model
 * (each objective, DART, categorical splits) in every file format the reader takes.
 */
import { readFileSync } from 'node:fs';
import { splitCounts } from '../../lambdas/xgboost/feature-importance';
import { readModel } from '../../lambdas/xgboost/read-model';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const cases = xgboostFixtures().cases.flatMap((c) =>
  Object.entries(c.files).map(([format, path]) => [c.name, format, path, c.weight] as const),
);

test.each(cases)('%s (%s): split counts are XGBoost weight importance', (_name, _format, path, weight) => {
  const counts = splitCounts(readModel(readFileSync(path)));
  const ours = Object.fromEntries([...counts].flatMap((n, f) => (n > 0 ? [[`f${f}`, n]] : [])));
  expect(Object.keys(weight).length).toBeGreaterThan(1);
  expect(ours).toEqual(weight);
});
