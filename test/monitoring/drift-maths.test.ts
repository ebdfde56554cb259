/**
 * The drift maths against a straightforward numpy computation made in the test setup (never typed-in numbers):
 * decile bins of N(0,1), PSI of 0.5σ and 1σ mean shifts (≈ 0.24 and ≈ 0.93), Jensen–Shannon of categories;
 * then the defined behaviour on bad input: empty windows, NaN and infinities, absent and unknown features,
 * another version's baseline, counts whose sum overflows a double.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SPEC_FORMAT, type FeatureSpec } from '../../lambdas/features/feature-spec';
import { Vectorizer } from '../../lambdas/features/vectorizer';
import {
  categoricalBins,
  DRIFT_BASELINE_FORMAT,
  type DriftBaseline,
  numericBins,
  parseDriftBaseline,
} from '../../lambdas/monitoring/drift-baseline';
import { DriftCounter, type DriftCounts, mergeCounts, parseDriftCounts } from '../../lambdas/monitoring/drift-counts';
import { driftReport, jensenShannon, psi, PSI_EPSILON } from '../../lambdas/monitoring/drift-report';
import { SYSTEM_PYTHON } from '../../local/local-training';

/** What numpy computed, and where it left the samples (float64, little-endian). */
interface Reference {
  edges: number[];
  train: number[];
  shifted: { mean: number; counts: number[]; psi: number }[];
  categories: { expected: number[]; actual: number[]; js: number; psi: number };
}

const NUMPY = String.raw`
import json, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(20261202)
n = 200_000
eps = float(sys.argv[2])
train = rng.standard_normal(n)
train.astype('<f8').tofile(out + '/train.f64')
ordered = np.sort(train)
edges = np.unique(ordered[[int(np.floor(d * n / 10)) for d in range(1, 10)]])
def hist(v):
    return np.bincount(np.searchsorted(edges, v, side='right'), minlength=len(edges) + 1)
def psi(e, a):
    keep = (e > 0) | (a > 0)
    p = np.maximum(e[keep] / e.sum(), eps)
    q = np.maximum(a[keep] / a.sum(), eps)
    return float(np.sum((q - p) * np.log(q / p)))
shifted = []
for i, mean in enumerate([0.5, 1.0]):
    window = rng.standard_normal(n) + mean
    window.astype('<f8').tofile(out + '/shift%d.f64' % i)
    shifted.append({'mean': mean, 'counts': hist(window).tolist(), 'psi': psi(hist(train), hist(window))})
expected = np.array([500, 300, 150, 50, 0], dtype=float)
actual = np.array([350, 300, 200, 0, 150], dtype=float)
p, q = expected / expected.sum(), actual / actual.sum()
m = (p + q) / 2
def kl(x, y):
    nz = x > 0
    return float(np.sum(x[nz] * np.log2(x[nz] / y[nz])))
js = 0.5 * kl(p, m) + 0.5 * kl(q, m)
json.dump({'edges': edges.tolist(), 'train': hist(train).tolist(), 'shifted': shifted,
           'categories': {'expected': expected.tolist(), 'actual': actual.tolist(), 'js': js,
                          'psi': psi(expected, actual)}}, sys.stdout)
`;

const spec: FeatureSpec = {
  format: FEATURE_SPEC_FORMAT,
  features: [
    { name: 'x', type: 'numeric' },
    { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['east', 'north', 'south', 'west'] },
  ],
};

let dir: string;
let reference: Reference;
const sample = (file: string) => new Float64Array(new Uint8Array(readFileSync(join(dir, file))).buffer);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlp-drift-'));
  const run = spawnSync(SYSTEM_PYTHON, ['-c', NUMPY, dir, String(PSI_EPSILON)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`numpy reference failed: ${run.stderr}`);
  reference = JSON.parse(run.stdout) as Reference;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A baseline of `train` for feature x, with a region feature of fixed counts. */
function baselineOf(train: Float64Array, modelVersion?: string): DriftBaseline {
  const bins = numericBins(train);
  const region = categoricalBins({ north: 500, south: 300, east: 150, west: 50 }, 3);
  return parseDriftBaseline({
    format: DRIFT_BASELINE_FORMAT,
    rows: train.length,
    ...(modelVersion ? { modelVersion } : {}),
    features: [
      { name: 'x', type: 'numeric', ...bins },
      { name: 'region', type: 'categorical', ...region, missing: 0 },
    ],
  });
}

/** Counts `values` of x (region missing) through the Vectorizer's raw rows and the counter. */
function countWindow(baseline: DriftBaseline, values: ArrayLike<number>, modelVersion = 'm/1'): DriftCounts {
  const counter = new DriftCounter(spec, baseline, modelVersion);
  const raw = new Float64Array(values.length * 2).fill(Number.NaN);
  for (let i = 0; i < values.length; i++) raw[i * 2] = values[i];
  counter.addRows(raw, values.length);
  return counter.take();
}

describe('binning and PSI match numpy', () => {
  test('decile edges and the training counts are numpy’s', () => {
    const bins = numericBins(sample('train.f64'));
    expect(bins.edges).toEqual(reference.edges);
    expect(bins.counts).toEqual(reference.train);
    expect(bins.missing).toBe(0);
  });

  test.each([0, 1])('shift %#: counts and PSI equal numpy’s, ≈ 0.24 for 0.5σ and ≈ 0.93 for 1σ', (i) => {
    const { mean, counts, psi: expected } = reference.shifted[i];
    // The setup itself is sound: numpy finds the textbook figures.
    expect(expected).toBeCloseTo(mean === 0.5 ? 0.24 : 0.93, 1);
    const baseline = baselineOf(sample('train.f64'));
    const window = countWindow(baseline, sample(`shift${i}.f64`));
    expect(window.features.x).toEqual([...counts, 0]);
    const report = driftReport(baseline, mergeCounts('m/1', [window]), { psiThreshold: 0.2, minRecords: 1000 });
    const x = report.features.find((f) => f.name === 'x')!;
    expect(x.psi).toBeCloseTo(expected, 12);
    expect(x.status).toBe('drifted');
  });

  test('no shift: PSI near zero and stable', () => {
    const train = sample('train.f64');
    const baseline = baselineOf(train);
    const report = driftReport(baseline, mergeCounts('m/1', [countWindow(baseline, train)]), {
      psiThreshold: 0.2,
      minRecords: 1000,
    });
    expect(report.features[0]).toMatchObject({ name: 'x', status: 'stable', psi: 0 });
  });

  test('Jensen–Shannon and PSI of categories equal numpy’s, empty bins included', () => {
    const { expected, actual, js, psi: expectedPsi } = reference.categories;
    expect(jensenShannon(expected, actual)).toBeCloseTo(js, 12);
    expect(psi(expected, actual)).toBeCloseTo(expectedPsi, 12);
    expect(jensenShannon(expected, expected)).toBe(0);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
  });
});

describe('the hot path counts what the scorer saw', () => {
  test('categories: top-K, other (unknown too), missing; numeric NaN missing, infinities in the outer bins', () => {
    const baseline = baselineOf(sample('train.f64'));
    expect(baseline.features[1]).toMatchObject({ categories: ['north', 'south', 'east'], counts: [500, 300, 150, 50] });
    const vectorizer = new Vectorizer(spec);
    const records = [
      { x: -1e30, region: 'north' },
      { x: 1e30, region: 'west' },
      { x: null, region: 'nowhere' },
      { region: null },
      { x: 0, region: 'east' },
    ];
    const rows = new Float32Array(records.length * vectorizer.width);
    const raw = new Float64Array(records.length * 2);
    records.forEach((r, i) => vectorizer.fill(r, i, rows, i * vectorizer.width, raw, i * 2));
    const counter = new DriftCounter(spec, baseline, 'm/1');
    counter.addRows(raw, records.length);
    counter.addRows(new Float64Array([Number.POSITIVE_INFINITY, Number.NaN, Number.NEGATIVE_INFINITY, 1]), 2);
    const counts = counter.take();
    const x = counts.features.x;
    expect(x[0]).toBe(2); // -1e30 and -inf
    expect(x[x.length - 2]).toBe(2); // 1e30 and +inf
    expect(x[x.length - 1]).toBe(2); // null and absent
    // north, south, east, other (west, unknown, index 1 = north from the second addRows), missing
    expect(counts.features.region).toEqual([2, 0, 1, 2, 2]);
    expect(counts.records).toBe(7);
    expect(counter.take().records).toBe(0);
  });

  test('scores are binned by the baseline’s score histogram', () => {
    const scores = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const baseline = parseDriftBaseline({ ...baselineOf(sample('train.f64')), score: numericBins(scores) });
    const counter = new DriftCounter(spec, baseline, 'm/1');
    counter.addScores(new Float64Array([0, 0.05, 0.95, 1, Number.NaN, 0.5, 0.5]), 3, 2);
    expect(counter.take().score).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
  });
});

describe('bad input has a defined answer and raises no false alarm', () => {
  const options = { psiThreshold: 0.2, minRecords: 100 };

  test('a window with no traffic, or under the minimum, is not judged', () => {
    const baseline = baselineOf(sample('train.f64'));
    for (const window of [mergeCounts('m/1', []), mergeCounts('m/1', [countWindow(baseline, [5, 5, 5])])]) {
      const report = driftReport(baseline, window, options);
      expect(report).toMatchObject({ judged: false, maxPsi: null, driftedShare: null, drifted: [] });
      expect(report.features.every((f) => f.status === 'insufficient' || f.status === 'absent')).toBe(true);
    }
  });

  test('a feature the window lacks is absent, one the baseline lacks is listed, other bins are incompatible', () => {
    const baseline = baselineOf(sample('train.f64'));
    const counts = countWindow(baseline, sample('shift0.f64'));
    const window = mergeCounts('m/1', [
      { ...counts, features: { x: counts.features.x.slice(0, 5), newcomer: [1, 2], region: counts.features.region } },
    ]);
    const report = driftReport(baseline, window, options);
    expect(report.features.map((f) => [f.name, f.status])).toEqual([
      ['x', 'incompatible'],
      ['region', 'drifted'], // every region value missing where training had none: a feed that broke
    ]);
    expect(report.unknownFeatures).toEqual(['newcomer']);
    expect(report.drifted).toEqual(['region']); // neither x nor the newcomer raises an alarm
    const withoutRegion = mergeCounts('m/1', [{ ...counts, features: { x: counts.features.x } }]);
    expect(driftReport(baseline, withoutRegion, options).features[1].status).toBe('absent');
  });

  test('counts of another model version are refused, by both versions', () => {
    const baseline = baselineOf(sample('train.f64'), 'mlp-dev-loans/3');
    const window = mergeCounts('mlp-dev-loans/4', [countWindow(baseline, [1, 2, 3], 'mlp-dev-loans/4')]);
    expect(() => driftReport(baseline, window, options)).toThrow(
      /baseline is of mlp-dev-loans\/3.*counts of mlp-dev-loans\/4/,
    );
    expect(() => mergeCounts('mlp-dev-loans/3', [countWindow(baseline, [1], 'mlp-dev-loans/4')])).toThrow(
      /counts of mlp-dev-loans\/4 cannot be merged/,
    );
  });

  test('sums past 2^53 merge exactly and still give shares', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const document = parseDriftCounts({
      format: 'mlp.drift-counts/1',
      modelVersion: 'm/1',
      records: big,
      features: { region: [big, 0, 0, 0, 0] },
    });
    const merged = mergeCounts('m/1', [document, document, document]);
    expect(merged.records).toBe(3n * BigInt(big));
    expect(merged.features.get('region')![0]).toBe(3n * BigInt(big));
    const report = driftReport(baselineOf(sample('train.f64')), merged, options);
    expect(report.features[1].psi).toBeCloseTo(psi([500, 300, 150, 50, 0], [1, 0, 0, 0, 0]), 12);
  });

  test('malformed counts and baselines are refused naming the field', () => {
    expect(() =>
      parseDriftCounts({ format: 'mlp.drift-counts/1', modelVersion: 'm/1', records: -1, features: {} }, 'a.json'),
    ).toThrow(/a\.json are not drift counts: records/);
    expect(() =>
      parseDriftCounts({ format: 'mlp.drift-counts/1', modelVersion: 'm/1', records: 1, features: { x: [0.5] } }),
    ).toThrow(/features\.x\.0/);
    const good = baselineOf(sample('train.f64'));
    expect(() => parseDriftBaseline({ ...good, features: [{ ...good.features[0], edges: [2, 1] }] })).toThrow(
      /features\.0\.(edges|counts)/,
    );
    expect(() => parseDriftBaseline({ ...good, format: 'mlp.drift-baseline/1' }, 'b.json')).toThrow(/b\.json.*format/);
  });
});
