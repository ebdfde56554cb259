/**
 * The quality maths against numpy in the test setup: the estimated AUC (CBPE) is the area under the expected ROC
 * curve numpy integrates with the trapezoid rule; on calibrated scores it lands near the AUC the outcomes
 * realise; and the join by pseudonymous key per version and cohort month, with its defined answers for labels of
 * keys never scored, unkeyed predictions, too few labels and one class only.
 */
import { spawnSync } from 'node:child_process';
import { SYSTEM_PYTHON } from '../../local/local-training';
import { estimatedAuc, qualityReport, type ScoredPrediction } from '../../stepfunctions/monitoring/quality';

const NUMPY = String.raw`
import json, sys
import numpy as np
rng = np.random.default_rng(7)
n = 20000
p = rng.beta(2, 5, n)
p[:200] = np.round(p[:200], 2)  # ties
y = (rng.random(n) < p).astype(int)
def expected_auc(s):
    t = np.unique(s)[::-1]
    tpr = np.array([0.0] + [s[s >= v].sum() for v in t]) / s.sum()
    fpr = np.array([0.0] + [(1 - s[s >= v]).sum() for v in t]) / (1 - s).sum()
    return float(np.trapz(tpr, fpr))
def realised_auc(s, y):
    order = np.argsort(s, kind='mergesort')
    ranks = np.empty(n)
    sorted_s = s[order]
    # average ranks for ties
    _, inverse, counts = np.unique(sorted_s, return_inverse=True, return_counts=True)
    cum = np.cumsum(counts)
    avg = cum - (counts - 1) / 2
    ranks[order] = avg[inverse]
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))
json.dump({'p': p.tolist(), 'y': y.tolist(), 'expected': expected_auc(p), 'realised': realised_auc(p, y)}, sys.stdout)
`;

let reference: { p: number[]; y: number[]; expected: number; realised: number };
beforeAll(() => {
  const run = spawnSync(SYSTEM_PYTHON, ['-c', NUMPY], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`numpy reference failed: ${run.stderr}`);
  reference = JSON.parse(run.stdout);
});

test('the estimated AUC is the area under the expected ROC curve, and near the realised one when calibrated', () => {
  expect(estimatedAuc(reference.p)).toBeCloseTo(reference.expected, 10);
  expect(Math.abs(reference.expected - reference.realised)).toBeLessThan(0.02);
  expect(estimatedAuc([0.3])).toBeNull();
  expect(estimatedAuc([0, 0, 0])).toBeNull();
  expect(estimatedAuc([1, 1])).toBeNull();
  expect(estimatedAuc([0, 1])).toBe(1);
});

test('realised quality joins by key per version and cohort month, and equals numpy’s AUC', () => {
  const key = (i: number) => i.toString(16).padStart(64, '0');
  const predictions: ScoredPrediction[] = reference.p.map((score, i) => ({
    modelVersion: 'm/1',
    capturedAt: i % 2 ? '2026-11-03T10:00:00Z' : '2026-12-01T09:00:00Z',
    score,
    key: key(i),
  }));
  const labels = new Map(reference.y.map((label, i) => [key(i), label]));
  labels.set(key(10 ** 7), 1); // a loan never scored
  const report = qualityReport(
    [...predictions, { modelVersion: 'm/1', capturedAt: '2026-12-02T00:00:00Z', score: 0.5 }],
    labels,
    { minLabelled: 100 },
  );
  expect(report.unmatchedLabels).toBe(1);
  expect(report.unkeyed).toBe(1);
  expect(report.cohorts.map((c) => [c.cohort, c.predictions, c.labelled])).toEqual([
    ['2026-11', 10_000, 10_000],
    ['2026-12', 10_001, 10_000],
  ]);
  // Both cohorts together are the numpy sample: their realised AUCs bracket it, each computed as binaryMetrics does.
  const all = qualityReport(
    predictions.map((p) => ({ ...p, capturedAt: '2026-11-01T00:00:00Z' })),
    labels,
    { minLabelled: 100 },
  );
  expect(all.cohorts[0].realised!.auc).toBeCloseTo(reference.realised, 10);
  expect(all.cohorts[0].estimatedAuc).toBeCloseTo(reference.expected, 10);
});

test('too few labels, one class only, a re-scored loan counted once', () => {
  const key = 'ab'.repeat(32);
  const other = 'cd'.repeat(32);
  const p = (score: number, at: string, k = key): ScoredPrediction => ({
    modelVersion: 'm/2',
    capturedAt: at,
    score,
    key: k,
  });
  const few = qualityReport([p(0.2, '2026-12-01T00:00:00Z')], new Map([[key, 1]]), { minLabelled: 2 });
  expect(few.cohorts[0]).toMatchObject({ realised: null, pending: '1 labelled prediction(s), fewer than 2' });
  const oneClass = qualityReport(
    [p(0.2, '2026-12-01T00:00:00Z'), p(0.7, '2026-12-02T00:00:00Z'), p(0.4, '2026-12-03T00:00:00Z', other)],
    new Map([
      [key, 1],
      [other, 1],
    ]),
    { minLabelled: 2 },
  );
  expect(oneClass.cohorts[0]).toMatchObject({
    predictions: 3,
    labelled: 2,
    realised: null,
    pending: 'the 2 labelled predictions hold one class only',
  });
});
