/**
 * Prepare's baseline (DuckDB over the training table) is the one the monitoring code defines: numeric bins,
 * summary statistics and category bins equal numericBins / categoricalBins of the same values, with missing
 * values, repeats (a feature of few distinct values), an all-missing feature and other splits left out.
 */
import { FEATURE_SPEC_FORMAT, type FeatureSpec } from '../../lambdas/features/feature-spec';
import { categoricalBins, numericBins, TOP_CATEGORIES } from '../../lambdas/monitoring/drift-baseline';
import { withEngine } from '../../stepfunctions/curated/duckdb-engine';
import { trainingBaseline } from '../../stepfunctions/curated/baseline-sql';

test('the training baseline equals the reference binning of the same rows', async () => {
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const rows = Array.from({ length: 5003 }, (_, i) => ({
    amount: random() < 0.07 ? null : Math.round(Math.exp(random() * 10) * 100) / 100,
    few: random() < 0.5 ? 1 : random() < 0.9 ? 2 : 3,
    never: null as number | null,
    region: random() < 0.05 ? null : `r${Math.floor(random() ** 2 * (TOP_CATEGORIES + 7))}`,
    split: i % 5 === 0 ? 'test' : 'train',
  }));
  const train = rows.filter((r) => r.split === 'train');
  const spec: FeatureSpec = {
    format: FEATURE_SPEC_FORMAT,
    features: [
      { name: 'amount', type: 'numeric' },
      { name: 'few', type: 'numeric' },
      { name: 'never', type: 'numeric' },
      { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['r0'] },
    ],
  };
  const regions: Record<string, number> = {};
  for (const r of train) if (r.region !== null) regions[r.region] = (regions[r.region] ?? 0) + 1;
  const baseline = await withEngine(async (engine) => {
    const literal = (v: number | string | null) => (v === null ? 'NULL' : typeof v === 'number' ? `${v}` : `'${v}'`);
    await engine.run('CREATE TABLE training (amount DOUBLE, few DOUBLE, never DOUBLE, region VARCHAR, split VARCHAR)');
    await engine.run(
      `INSERT INTO training VALUES ${rows
        .map((r) => `(${[r.amount, r.few, r.never, r.region, r.split].map(literal).join(', ')})`)
        .join(', ')}`,
    );
    return trainingBaseline(engine, spec, train.length, { region: regions }, 'v1');
  });
  const column = (name: 'amount' | 'few' | 'never') => train.map((r) => r[name] ?? Number.NaN);
  for (const [i, name] of (['amount', 'few', 'never'] as const).entries()) {
    const expected = numericBins(column(name));
    const actual = baseline.features[i];
    expect(actual).toMatchObject({ name, type: 'numeric', edges: expected.edges, counts: expected.counts });
    expect(actual).toMatchObject({ missing: expected.missing, min: expected.min, max: expected.max });
    if (actual.type !== 'numeric') throw new Error('numeric expected');
    for (const stat of ['mean', 'std'] as const) {
      if (expected[stat] === null) expect(actual[stat]).toBeNull();
      else expect(actual[stat]).toBeCloseTo(expected[stat], 6);
    }
  }
  expect(baseline.features[1]).toMatchObject({ edges: [1, 2] }); // repeats removed
  expect(baseline.features[2]).toMatchObject({ edges: [], counts: [0], missing: train.length, mean: null });
  expect(baseline.features[3]).toMatchObject({
    ...categoricalBins(regions),
    missing: train.filter((r) => r.region === null).length,
  });
  expect(baseline).toMatchObject({ format: 'mlp.drift-baseline/2', rows: train.length, datasetVersion: 'v1' });
});
