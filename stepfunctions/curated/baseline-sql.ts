/**
 * The drift baseline of a training split (lambdas/monitoring/drift-baseline.ts), computed by DuckDB over the
 * engine's `training` table: per numeric feature the decile edges (values at edgePositions of the sorted
 * present values, repeats removed), the count in each bin, min, max, mean and population standard deviation;
 * per categorical feature its most frequent categories, "other" and missing. The score histogram is added by
 * Evaluate, the model version by Deploy.
 */
import type { FeatureSpec } from '../../lambdas/features/feature-spec';
import {
  categoricalBins,
  DRIFT_BASELINE_FORMAT,
  type DriftBaseline,
  edgePositions,
  parseDriftBaseline,
} from '../../lambdas/monitoring/drift-baseline';
import { type Engine, quoteName } from './duckdb-engine';

const nullable = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/**
 * The baseline of the `split` rows of `training`, of which there are `rows`; `categoryCounts` holds each
 * categorical feature's counts on the same rows (Prepare fits them for the spec).
 */
export async function trainingBaseline(
  engine: Engine,
  spec: FeatureSpec,
  rows: number,
  categoryCounts: Readonly<Record<string, Readonly<Record<string, number>>>>,
  datasetVersion: string,
  split = 'train',
): Promise<DriftBaseline> {
  const where = `split = '${split.replace(/'/g, "''")}'`;
  const numeric = spec.features.filter((f) => f.type === 'numeric');
  // Every feature's count of present values and every numeric feature's summary, in one scan.
  const [summary] = await engine.rows(
    `SELECT ${[
      ...spec.features.map((f) => `COUNT(${quoteName(f.name)}) AS ${quoteName(`n:${f.name}`)}`),
      ...numeric.flatMap((f) => {
        const c = quoteName(f.name);
        return ['MIN', 'MAX', 'AVG', 'STDDEV_POP'].map((fn) => `${fn}(${c}) AS ${quoteName(`${fn}:${f.name}`)}`);
      }),
    ].join(', ')} FROM training WHERE ${where}`,
  );
  const features = [];
  for (const feature of spec.features) {
    const c = quoteName(feature.name);
    const present = Number(summary[`n:${feature.name}`]);
    const missing = rows - present;
    if (feature.type !== 'numeric') {
      features.push({
        name: feature.name,
        type: feature.type,
        ...categoricalBins(categoryCounts[feature.name]),
        missing,
      });
      continue;
    }
    const positions = edgePositions(present);
    const at = positions.length
      ? await engine.rows(
          `SELECT v FROM (SELECT ${c} AS v, ROW_NUMBER() OVER (ORDER BY ${c}) - 1 AS i FROM training ` +
            `WHERE ${where} AND ${c} IS NOT NULL) AS s WHERE i IN (${positions.join(', ')}) ORDER BY i`,
        )
      : [];
    const edges = [...new Set(at.map((r) => Number(r.v)))];
    const bin = edges.length
      ? edges.map((e) => `CASE WHEN ${c} >= CAST(${String(e)} AS DOUBLE) THEN 1 ELSE 0 END`).join(' + ')
      : '0';
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const r of await engine.rows(
      `SELECT ${bin} AS b, COUNT(*) AS n FROM training WHERE ${where} AND ${c} IS NOT NULL GROUP BY 1`,
    )) {
      counts[Number(r.b)] = Number(r.n);
    }
    features.push({
      name: feature.name,
      type: feature.type,
      edges,
      counts,
      missing,
      min: nullable(summary[`MIN:${feature.name}`]),
      max: nullable(summary[`MAX:${feature.name}`]),
      mean: nullable(summary[`AVG:${feature.name}`]),
      std: nullable(summary[`STDDEV_POP:${feature.name}`]),
    });
  }
  return parseDriftBaseline({ format: DRIFT_BASELINE_FORMAT, rows, datasetVersion, features }, 'the training baseline');
}
