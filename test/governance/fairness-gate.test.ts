/**
 * The fairness gate on real reports (the real fairnessReport over built rows): each breach is a named reason,
 * a report that could not be completed or is absent fails closed, a fair candidate passes; and the configuration
 * refuses a protected attribute that is a training feature or comes from the training dataset.
 */
import { ENVIRONMENTS, loadEnvironment } from '../../config';
import { fairnessReport, type FairnessRow } from '../../stepfunctions/governance/fairness';
import { fairnessBreaches } from '../../stepfunctions/governance/fairness-gate';
import type { FairnessPolicy } from '../../stepfunctions/retraining-settings';

const POLICY: FairnessPolicy = {
  dataset: 'loan_attributes',
  attributes: ['sex'],
  approvalThreshold: 0.5,
  confidence: 0.95,
  minGroupSize: 30,
  limits: {
    minApprovalRatio: 0.8,
    maxEqualOpportunityDifference: 0.1,
    maxCalibrationGap: 0.1,
    maxMissingFraction: 0.05,
  },
};

/** `n` rows of a group: a share approved (score 0.2) among the qualified and among the adverse, calibrated-ish. */
function group(sex: string | null, n: number, approvedShare: number): FairnessRow[] {
  return Array.from({ length: n }, (_, i) => {
    const label = i % 5 === 0 ? 1 : 0; // 20% adverse
    const approved = (i * 7919) % 100 < approvedShare * 100;
    return { label, score: approved ? 0.1 : 0.6, attributes: sex === null ? null : { sex } };
  });
}

const judge = (rows: FairnessRow[], policy = POLICY) =>
  fairnessBreaches(policy, fairnessReport(rows, policy.attributes, policy));

test('a candidate that treats the groups alike passes', () => {
  expect(judge([...group('F', 400, 0.7), ...group('M', 400, 0.72)])).toEqual([]);
});

test('an approval ratio below four-fifths fails, naming the groups, the ratio and its interval', () => {
  const reasons = judge([...group('F', 400, 0.4), ...group('M', 400, 0.8)]);
  expect(reasons).toEqual(
    expect.arrayContaining([
      expect.stringMatching(
        /^approval rate of F over M \(sex\) is 0\.\d{3} \(95% CI 0\.\d{3}–0\.\d{3}\), below 0\.800$/,
      ),
      expect.stringMatching(/^equal-opportunity difference of sex is 0\.\d{3} \(95% CI .*\), above 0\.100$/),
    ]),
  );
});

test('a tiny group is insufficient and fails the gate, never passed silently', () => {
  const reasons = judge([...group('F', 400, 0.7), ...group('M', 400, 0.7), ...group('X', 12, 0.7)]);
  expect(reasons).toEqual([
    expect.stringMatching(/^group X of sex has 12 rows \(\d+ qualified\), below 30: insufficient to judge$/),
  ]);
});

test('too many rows without the attribute fail; a few do not', () => {
  const fair = [...group('F', 400, 0.7), ...group('M', 400, 0.7)];
  expect(judge([...fair, ...group(null, 20, 0.7)])).toEqual([]);
  expect(judge([...fair, ...group(null, 100, 0.7)])).toEqual([
    expect.stringMatching(/^100 of 900 test rows have no sex: more than the 0\.050 allowed$/),
  ]);
});

test('fails closed: no report, or one with problems', () => {
  expect(fairnessBreaches(POLICY, undefined)).toEqual([
    'the fairness gate is configured but Evaluate computed no fairness report',
  ]);
  const report = fairnessReport([...group('F', 400, 0.7), ...group('M', 400, 0.7)], ['sex'], POLICY, [
    'no loan_attributes extract has landed yet',
  ]);
  expect(fairnessBreaches(POLICY, report)).toEqual(['fairness not judged: no loan_attributes extract has landed yet']);
});

test('the configuration keeps protected attributes out of the model and apart from the training data', () => {
  const withFairness = (fairness: Partial<FairnessPolicy>) => {
    const env = structuredClone(ENVIRONMENTS.dev);
    env.retraining.fairness = { ...POLICY, ...fairness, attributes: [...(fairness.attributes ?? POLICY.attributes)] };
    return () => loadEnvironment('dev', { environments: { dev: env } });
  };
  expect(withFairness({})).not.toThrow();
  expect(withFairness({ attributes: ['region'] })).toThrow(
    /retraining\.fairness\.attributes: "region" is a training feature: a protected attribute must stay out of the model/,
  );
  expect(withFairness({ dataset: 'loans' })).toThrow(/retraining\.fairness\.dataset: is the training dataset/);
  expect(withFairness({ dataset: 'elsewhere' })).toThrow(/"elsewhere" is not one of onPrem\.datasets/);
  expect(withFairness({ minGroupSize: 3 })).toThrow(/retraining\.fairness\.minGroupSize/);
});
