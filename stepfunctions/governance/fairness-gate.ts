/**
 * The fairness half of the promotion policy: what in a candidate's fairness report keeps it from promotion under
 * the configured limits. Fails closed: a configured gate with no report, with what kept the report from being
 * complete, with a group too small to judge or with too many rows missing the attributes, never passes.
 */
import type { AttributeFairness, FairnessReport, Interval } from '../../contracts/fairness';
import type { FairnessPolicy } from '../retraining-settings';

const f = (x: number) => x.toFixed(3);

/** Every reason the report fails the policy (none: it passes). */
export function fairnessBreaches(policy: FairnessPolicy, report: FairnessReport | undefined): string[] {
  if (!report) return ['the fairness gate is configured but Evaluate computed no fairness report'];
  const reasons = report.problems.map((p) => `fairness not judged: ${p}`);
  const { limits } = policy;
  for (const name of policy.attributes) {
    const a = report.attributes.find((x) => x.attribute === name);
    if (!a) {
      reasons.push(`the fairness report has no ${name}`);
      continue;
    }
    reasons.push(...attributeBreaches(a, report, limits));
  }
  return reasons;
}

function attributeBreaches(a: AttributeFairness, report: FairnessReport, limits: FairnessPolicy['limits']): string[] {
  const reasons: string[] = [];
  const level = `${Math.round(report.confidence * 100)}% `;
  const ci = (i: Interval | null) => (i ? ` (${level}CI ${f(i.low)}–${f(i.high)})` : '');
  if (report.rows > 0 && a.missing / report.rows > limits.maxMissingFraction) {
    reasons.push(
      `${a.missing} of ${report.rows} test rows have no ${a.attribute}: more than the ${f(limits.maxMissingFraction)} allowed`,
    );
  }
  for (const group of a.insufficient) {
    const g = a.groups.find((x) => x.group === group)!;
    reasons.push(
      `group ${group} of ${a.attribute} has ${g.rows} rows (${g.qualified} qualified), below ${report.minGroupSize}: ` +
        'insufficient to judge',
    );
  }
  if (a.approvalRatio === null) {
    reasons.push(`${a.attribute} has fewer than two groups large enough to compare`);
  } else if (a.approvalRatio < limits.minApprovalRatio) {
    reasons.push(
      `approval rate of ${a.lowestApproval} over ${a.highestApproval} (${a.attribute}) is ${f(a.approvalRatio)}` +
        `${ci(a.approvalRatioInterval)}, below ${f(limits.minApprovalRatio)}`,
    );
  }
  if (a.equalOpportunityDifference !== null && a.equalOpportunityDifference > limits.maxEqualOpportunityDifference) {
    reasons.push(
      `equal-opportunity difference of ${a.attribute} is ${f(a.equalOpportunityDifference)}` +
        `${ci(a.equalOpportunityDifferenceInterval)}, above ${f(limits.maxEqualOpportunityDifference)}`,
    );
  }
  for (const g of a.groups) {
    if (g.sufficient && Math.abs(g.calibrationGap) > limits.maxCalibrationGap) {
      reasons.push(
        `calibration gap of group ${g.group} of ${a.attribute} is ${f(g.calibrationGap)} (observed ` +
          `${f(g.observedRate)} vs mean score ${f(g.meanScore)}), beyond ${f(limits.maxCalibrationGap)}`,
      );
    }
  }
  return reasons;
}
