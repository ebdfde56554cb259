/**
 * The fairness maths against an independent reference: Fairlearn's definitions (selection rate, true positive
 * rate, demographic parity ratio = min/max, equal opportunity difference = max − min, over the compared groups)
 * and the textbook Wilson, Katz and Newcombe intervals, computed with numpy by Debian's Python on the same rows.
 */
import { spawnSync } from 'node:child_process';
import { FairnessError, fairnessReport, type FairnessRow } from '../../stepfunctions/governance/fairness';
import { normalQuantile } from '../../stepfunctions/governance/normal-quantile';

const REFERENCE = String.raw`
import json, sys
import numpy as np
from statistics import NormalDist
data = json.load(sys.stdin)
rows, opts = data['rows'], data['options']
t, conf, m = opts['approvalThreshold'], opts['confidence'], opts['minGroupSize']
z = NormalDist().inv_cdf(1 - (1 - conf) / 2)
label = np.array([r['label'] for r in rows], dtype=float)
score = np.array([r['score'] for r in rows], dtype=float)
approve = (score < t).astype(float)   # the favourable prediction
qualified = label == 0                 # the favourable outcome

def wilson(x, n):
    p = x / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [max(0.0, c - h), min(1.0, c + h)]

out = {}
for a in data['attributes']:
    values = np.array([None if r['attributes'] is None else r['attributes'].get(a) for r in rows], dtype=object)
    present = np.array([v is not None for v in values])
    groups = {}
    for g in sorted(set(v for v in values if v is not None)):
        mask = values == g
        n = int(mask.sum()); q = int((mask & qualified).sum())
        sel = approve[mask].mean()                           # Fairlearn selection_rate
        tpr = approve[mask & qualified].mean() if q else None # Fairlearn true_positive_rate (approve | qualified)
        groups[g] = dict(rows=n, qualified=q, sufficient=bool(n >= m and q > 0), approvalRate=sel,
            approvalRateInterval=wilson(approve[mask].sum(), n), equalOpportunityRate=tpr,
            equalOpportunityInterval=wilson(approve[mask & qualified].sum(), q) if q else None,
            meanScore=score[mask].mean(), observedRate=label[mask].mean(),
            observedRateInterval=wilson(label[mask].sum(), n), calibrationGap=label[mask].mean() - score[mask].mean(),
            x=approve[mask].sum())
    ok = {g: v for g, v in groups.items() if v['sufficient']}
    res = dict(missing=int((~present).sum()), insufficient=sorted(g for g, v in groups.items() if not v['sufficient']),
               groups=groups)
    if len(ok) >= 2:
        lo = min(ok, key=lambda g: ok[g]['approvalRate']); hi = max(ok, key=lambda g: ok[g]['approvalRate'])
        x1, n1, x2, n2 = ok[lo]['x'], ok[lo]['rows'], ok[hi]['x'], ok[hi]['rows']
        ratio = (x1 / n1) / (x2 / n2)                        # Fairlearn demographic_parity_ratio
        se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)      # Katz
        res.update(approvalRatio=ratio, approvalRatioInterval=[ratio * np.exp(-z * se), ratio * np.exp(z * se)],
                   lowestApproval=lo, highestApproval=hi)
        tprs = {g: v['equalOpportunityRate'] for g, v in ok.items()}
        elo = min(tprs, key=tprs.get); ehi = max(tprs, key=tprs.get)
        p1, p2 = tprs[ehi], tprs[elo]; l1, u1 = ok[ehi]['equalOpportunityInterval']; l2, u2 = ok[elo]['equalOpportunityInterval']
        d = p1 - p2                                          # Fairlearn equal_opportunity_difference
        res.update(equalOpportunityDifference=d, equalOpportunityDifferenceInterval=[
            d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)])
        res['maxCalibrationGap'] = max(abs(v['calibrationGap']) for v in ok.values())
    out[a] = res
print(json.dumps(dict(z=z, attributes=out, joined=int(sum(r['attributes'] is not None for r in rows)))))
`;

/** numpy's answer for the same rows. */
function reference(rows: readonly FairnessRow[], attributes: string[], options: object) {
  const run = spawnSync('/usr/bin/python3', ['-c', REFERENCE], {
    input: JSON.stringify({ rows, attributes, options }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`the numpy reference failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as {
    z: number;
    joined: number;
    attributes: Record<string, Record<string, unknown> & { groups: Record<string, Record<string, unknown>> }>;
  };
}

/** Seeded rows: groups of different sizes and base rates, a tiny group, missing attributes. */
function syntheticRows(seed: number, n: number): FairnessRow[] {
  let s = seed >>> 0;
  const random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const bands = ['18-29', '30-39', '40-49', '50-59', '60-69', '70+'];
  const weights = [0.2, 0.28, 0.24, 0.17, 0.1, 0.01];
  const rows: FairnessRow[] = [];
  for (let i = 0; i < n; i++) {
    if (random() < 0.03) {
      rows.push({ label: random() < 0.2 ? 1 : 0, score: random(), attributes: null });
      continue;
    }
    let u = random();
    let b = 0;
    while (b < bands.length - 1 && (u -= weights[b]) > 0) b++;
    const sex = random() < 0.48 ? 'F' : 'M';
    const risk = 0.08 + 0.04 * b + (sex === 'F' ? -0.02 : 0.02);
    const label = random() < risk ? 1 : 0;
    const score = Math.min(0.999, Math.max(0.001, risk + (label ? 0.25 : -0.02) * random() + (random() - 0.5) * 0.2));
    rows.push({ label, score, attributes: { age_band: bands[b], sex: random() < 0.02 ? null : sex } });
  }
  return rows;
}

function expectClose(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    expect({ path, value: actual }).toEqual({ path, value: expect.any(Number) });
    const scale = Math.max(1, Math.abs(expected));
    expect({ path, diff: Math.abs((actual as number) - expected) / scale < 1e-12 }).toEqual({ path, diff: true });
  } else if (Array.isArray(expected)) {
    expected.forEach((v, i) => expectClose((actual as unknown[])[i], v, `${path}[${i}]`));
  } else {
    expect({ path, value: actual }).toEqual({ path, value: expected });
  }
}

test("z of each confidence matches Python's NormalDist (AS241)", () => {
  const levels = [0.8, 0.9, 0.95, 0.99, 0.999];
  const run = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      `from statistics import NormalDist;import json;print(json.dumps([NormalDist().inv_cdf(1-(1-c)/2) for c in ${JSON.stringify(levels)}]))`,
    ],
    { encoding: 'utf8' },
  );
  const expected = JSON.parse(run.stdout) as number[];
  levels.forEach((c, i) => expect(Math.abs(normalQuantile(1 - (1 - c) / 2) - expected[i])).toBeLessThan(1e-12));
});

test.each([
  [11, 4000, { approvalThreshold: 0.2, confidence: 0.95, minGroupSize: 50 }],
  [5, 900, { approvalThreshold: 0.15, confidence: 0.9, minGroupSize: 30 }],
])("every figure matches the numpy reference of Fairlearn's definitions (seed %i, %i rows)", (seed, n, options) => {
  const rows = syntheticRows(seed, n);
  const attributes = ['age_band', 'sex'];
  const ours = fairnessReport(rows, attributes, options);
  const theirs = reference(rows, attributes, options);
  expect(ours.rows).toBe(n);
  expect(ours.joined).toBe(theirs.joined);
  for (const a of ours.attributes) {
    const ref = theirs.attributes[a.attribute];
    expect(a.missing).toBe(ref.missing);
    expect([...a.insufficient].sort()).toEqual(ref.insufficient);
    expect(a.groups.map((g) => g.group).sort()).toEqual(Object.keys(ref.groups).sort());
    for (const g of a.groups) {
      const r = ref.groups[g.group];
      for (const field of [
        'rows',
        'qualified',
        'sufficient',
        'approvalRate',
        'equalOpportunityRate',
        'meanScore',
        'observedRate',
        'calibrationGap',
      ] as const)
        expectClose(g[field], r[field], `${a.attribute}/${g.group}/${field}`);
      for (const field of ['approvalRateInterval', 'equalOpportunityInterval', 'observedRateInterval'] as const)
        expectClose(g[field] && [g[field]!.low, g[field]!.high], r[field], `${a.attribute}/${g.group}/${field}`);
    }
    expect(a.lowestApproval).toBe(ref.lowestApproval);
    expect(a.highestApproval).toBe(ref.highestApproval);
    expectClose(a.approvalRatio, ref.approvalRatio, `${a.attribute}/approvalRatio`);
    expectClose(
      [a.approvalRatioInterval!.low, a.approvalRatioInterval!.high],
      ref.approvalRatioInterval,
      `${a.attribute}/ratioInterval`,
    );
    expectClose(a.equalOpportunityDifference, ref.equalOpportunityDifference, `${a.attribute}/eod`);
    expectClose(
      [a.equalOpportunityDifferenceInterval!.low, a.equalOpportunityDifferenceInterval!.high],
      ref.equalOpportunityDifferenceInterval,
      `${a.attribute}/eodInterval`,
    );
    expectClose(a.maxCalibrationGap, ref.maxCalibrationGap, `${a.attribute}/maxCalibrationGap`);
  }
  // The data has a tiny group and rows without attributes: both are reported, not passed over.
  const age = ours.attributes[0];
  expect(age.insufficient).toContain('70+');
  expect(age.missing).toBeGreaterThan(0);
  expect(ours.attributes[1].missing).toBeGreaterThan(age.missing);
});

test('fewer than two groups large enough to compare: no ratio or difference, the small groups named', () => {
  const rows: FairnessRow[] = [
    ...Array.from({ length: 60 }, (_, i) => ({
      label: i % 5 === 0 ? 1 : 0,
      score: (i % 10) / 10,
      attributes: { sex: 'F' },
    })),
    ...Array.from({ length: 8 }, (_, i) => ({ label: i % 2, score: 0.1, attributes: { sex: 'M' } })),
  ];
  const [sex] = fairnessReport(rows, ['sex'], {
    approvalThreshold: 0.5,
    confidence: 0.95,
    minGroupSize: 30,
  }).attributes;
  expect(sex).toMatchObject({
    insufficient: ['M'],
    approvalRatio: null,
    approvalRatioInterval: null,
    equalOpportunityDifference: null,
    lowestApproval: null,
  });
  expect(sex.maxCalibrationGap).toBeCloseTo(Math.abs(sex.groups[0].calibrationGap), 12);
});

test('bad input is refused by name, without any row value', () => {
  const ok = { approvalThreshold: 0.2, confidence: 0.95, minGroupSize: 30 };
  const row = { label: 0, score: 0.1, attributes: { sex: 'F' } };
  const cases: Array<[() => unknown, RegExp]> = [
    [() => fairnessReport([{ ...row, label: 2 }], ['sex'], ok), /label of test row 1 is not 0 or 1/],
    [() => fairnessReport([{ ...row, score: Number.NaN }], ['sex'], ok), /score of test row 1 is not finite/],
    [() => fairnessReport([row], ['sex'], { ...ok, approvalThreshold: 1 }), /approval threshold must lie in \(0, 1\)/],
    [() => fairnessReport([row], ['sex'], { ...ok, confidence: 0 }), /confidence must lie in \(0, 1\)/],
    [() => fairnessReport([row], ['sex'], { ...ok, minGroupSize: 0 }), /smallest group size/],
    [() => fairnessReport([row], [], ok), /no protected attribute is named/],
  ];
  for (const [call, message] of cases) {
    expect(call).toThrow(FairnessError);
    expect(call).toThrow(message);
  }
});
