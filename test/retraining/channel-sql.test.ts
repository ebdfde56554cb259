/**
 * The training channels DuckDB writes (channel-sql.ts) hold the scorer's Vectorizer rows: every field parses back
 * to the very float32 the Vectorizer produces for the same record (bit for bit, missing as missing), and XGBoost
 * 1.7.4 itself reads the file into those values. Records are random with the edge cases mixed in: zeros of both
 * signs, subnormals, the float32 extremes, values that round, integers past 2^24, missing values, unknown and
 * awkward categories, and a categorical feature with no category at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureSpec } from '../../lambdas/features/feature-spec';
import { FLOAT32_MAX, Vectorizer } from '../../lambdas/features/vectorizer';
import { SYSTEM_PYTHON } from '../../local/local-training';
import { channelCopySql } from '../../stepfunctions/curated/channel-sql';
import { quoteText, withEngine } from '../../stepfunctions/curated/duckdb-engine';

const spec: FeatureSpec = {
  format: 'mlp.feature-spec/1',
  label: 'y',
  features: [
    { name: 'a', type: 'numeric' },
    { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['east', 'north', 'south'] },
    { name: 'b', type: 'numeric' },
    { name: 'odd', type: 'categorical', encoding: 'one-hot', categories: ['', 'a,b', 'quote"d', 'ünï', 'x\ty'] },
    { name: 'none', type: 'categorical', encoding: 'one-hot', categories: [] },
    { name: 'tier', type: 'categorical', encoding: 'ordinal', categories: ['gold', 'silver', 'bronze'] },
    { name: 'c', type: 'numeric' },
  ],
};

/** A seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGES = [0, -0, 1, -1, 0.1, 1e-45, 1.5e-39, -1e-40, FLOAT32_MAX, -FLOAT32_MAX, 3.4e38, 16777217, 2 ** 40 + 1];
const CATEGORIES = ['east', 'north', 'south', 'west', 'East', null];
const ODD = ['', 'a,b', 'quote"d', 'ünï', 'x\ty', 'other', null];

function records(n: number) {
  const next = random(42);
  const numeric = () => {
    const r = next();
    if (r < 0.1) return null;
    if (r < 0.35) return EDGES[Math.floor(next() * EDGES.length)];
    const scale = 10 ** Math.floor(next() * 24 - 12);
    return (next() - 0.5) * scale;
  };
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)];
  return Array.from({ length: n }, (_, i) => ({
    k: `key-${String(i).padStart(6, '0')}`,
    y: i % 2,
    a: numeric(),
    b: numeric(),
    c: numeric(),
    region: pick(CATEGORIES),
    odd: pick(ODD),
    none: pick(['any', null]),
    tier: pick(['gold', 'silver', 'bronze', 'platinum', null]),
  }));
}

// Numbers go in as text cast to DOUBLE, as the merge casts an extract's values (a numeric literal would be a
// DECIMAL first, whose conversion to DOUBLE may be an ulp off).
const sql = (v: number | string | null) =>
  v === null ? 'NULL' : typeof v === 'string' ? quoteText(v) : `CAST('${Object.is(v, -0) ? '-0' : v}' AS DOUBLE)`;

const bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

/** Writes the channel of `data` with DuckDB from a table of its rows; returns the file's lines. */
async function channelOf(data: ReturnType<typeof records>, path: string): Promise<string[]> {
  await withEngine(async (engine) => {
    await engine.run(
      'CREATE TABLE rows (k VARCHAR, y DOUBLE, a DOUBLE, b DOUBLE, c DOUBLE, region VARCHAR, odd VARCHAR, ' +
        'none VARCHAR, tier VARCHAR)',
    );
    const values = data.map(
      (r) => `(${[r.k, r.y, r.a, r.b, r.c, r.region, r.odd, r.none, r.tier].map(sql).join(', ')})`,
    );
    await engine.run(`INSERT INTO rows VALUES ${values.join(', ')}`);
    await engine.run(channelCopySql(spec, 'y', 'rows', path));
  });
  const lines = readFileSync(path, 'utf8').split('\n');
  expect(lines.pop()).toBe('');
  return lines;
}

const vectorizer = new Vectorizer(spec);
const rowsOf = (data: ReturnType<typeof records>) =>
  data.map(({ k: _k, y: _y, ...record }) => {
    const row = new Float32Array(vectorizer.width);
    vectorizer.fill(record, 0, row, 0);
    return row;
  });

test("DuckDB's channel lines are the Vectorizer's rows, field for field", async () => {
  const data = records(4000);
  const dir = mkdtempSync(join(tmpdir(), 'mlp-channel-'));
  const lines = await channelOf(data, join(dir, 'train.csv'));
  const expected = rowsOf(data);
  expect(lines).toHaveLength(data.length);
  // Ordered by key, which here is the records' order.
  lines.forEach((line, i) => {
    const [label, ...fields] = line.split(',');
    expect(label).toBe(String(data[i].y));
    expect(fields).toHaveLength(vectorizer.width);
    fields.forEach((field, j) => {
      const want = expected[i][j];
      if (Number.isNaN(want)) {
        if (field !== '') throw new Error(`row ${i} column ${j}: ${field} where the Vectorizer has a missing value`);
        return;
      }
      const value = Number(field);
      // The field is the float32's exact double: it parses to it with no second rounding.
      if (field === '' || Math.fround(value) !== value || bits(value) !== bits(want)) {
        throw new Error(`row ${i} column ${j}: ${field} where the Vectorizer has ${want}`);
      }
    });
  });
});

test('XGBoost 1.7.4 reads the channel into the very float32 values of the Vectorizer (missing as absent)', async () => {
  // XGBoost's CSV reader (dmlc) reads positional digits exactly from about 1e-10 to 1e19 (measured); it misreads
  // smaller and larger magnitudes by an ulp or two, subnormals by far, and the largest float32 as inf. The rows
  // here keep to the range it reads exactly.
  const exact = (v: number | null) => v === null || v === 0 || (Math.abs(v) >= 1e-10 && Math.abs(v) < 1e19);
  const data = records(8000).filter((r) => exact(r.a) && exact(r.b) && exact(r.c));
  expect(data.length).toBeGreaterThan(2000);
  const dir = mkdtempSync(join(tmpdir(), 'mlp-channel-xgb-'));
  const path = join(dir, 'train.csv');
  await channelOf(data, path);
  writeFileSync(
    join(dir, 'expected.json'),
    JSON.stringify(rowsOf(data).map((row) => Array.from(row, (v) => (Number.isNaN(v) ? null : bits(v))))),
  );
  const read = spawnSync(
    SYSTEM_PYTHON,
    [
      '-c',
      `
import json, sys, numpy as np, xgboost
d = xgboost.DMatrix(sys.argv[1] + '?format=csv&label_column=0')
m = d.get_data()
expected = json.load(open(sys.argv[2]))
assert d.num_row() == len(expected), (d.num_row(), len(expected))
for i, row in enumerate(expected):
    start, end = m.indptr[i], m.indptr[i + 1]
    got = {int(c): int(v) for c, v in zip(m.indices[start:end], m.data[start:end].astype(np.float32).view(np.uint32))}
    want = {j: v for j, v in enumerate(row) if v is not None}
    assert got == want, (i, got, want)
print(xgboost.__version__, d.num_row(), d.num_col())
`,
      path,
      join(dir, 'expected.json'),
    ],
    { encoding: 'utf8' },
  );
  expect(read.stderr).toBe('');
  expect(read.stdout.trim()).toBe(`1.7.4 ${data.length} ${vectorizer.width}`);
});
