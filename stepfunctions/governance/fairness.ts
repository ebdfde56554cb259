/**
 * The fairness of a candidate's decisions on the test split, by group of each protected attribute
 * (contracts/fairness.ts has the definitions: Fairlearn's, approval the favourable prediction, label 0 the
 * favourable outcome). Pure: rows in, aggregates out; no key or attribute value of a row ever leaves it except
 * as a group's name and counts.
 */
import type { AttributeFairness, FairnessReport, GroupFairness, Interval } from '../../contracts/fairness';
import { normalQuantile } from './normal-quantile';

export type { AttributeFairness, FairnessReport, GroupFairness, Interval };

/** Raised for input the report is undefined for; names the problem, never a row's values. */
export class FairnessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FairnessError';
  }
}

/** How decisions are made and judged. */
export interface FairnessOptions {
  /** Scores below it are approved (the score is the probability of the adverse outcome). */
  readonly approvalThreshold: number;
  /** Two-sided confidence of every interval, e.g. 0.95. */
  readonly confidence: number;
  /** Fewest rows a group needs to be compared. */
  readonly minGroupSize: number;
}

/** One scored test row: its outcome, its score, its attribute values (null: its key joined no attributes row). */
export interface FairnessRow {
  readonly label: number;
  readonly score: number;
  readonly attributes: Readonly<Record<string, string | null | undefined>> | null;
}

/** Wilson's score interval of x successes in n trials. */
export function wilsonInterval(x: number, n: number, z: number): Interval {
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Katz's log interval of the ratio (x1/n1) / (x2/n2). A zero count takes the usual 0.5 correction (added to every
 * count and total) for the width; the interval then starts at 0. Null when x2 is 0 (the ratio is undefined).
 */
export function katzRatioInterval(x1: number, n1: number, x2: number, n2: number, z: number): Interval | null {
  if (x2 === 0) return null;
  const corrected = x1 === 0;
  const [a, m, b, k] = corrected ? [x1 + 0.5, n1 + 0.5, x2 + 0.5, n2 + 0.5] : [x1, n1, x2, n2];
  const ratio = a / m / (b / k);
  const se = Math.sqrt(1 / a - 1 / m + 1 / b - 1 / k);
  return { low: corrected ? 0 : ratio * Math.exp(-z * se), high: ratio * Math.exp(z * se) };
}

/** Newcombe's hybrid score interval (method 10) of p1 − p2 from each proportion's Wilson interval. */
export function newcombeDifferenceInterval(p1: number, w1: Interval, p2: number, w2: Interval): Interval {
  const d = p1 - p2;
  return {
    low: Math.max(-1, d - Math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)),
    high: Math.min(1, d + Math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)),
  };
}

function checkInput(rows: readonly FairnessRow[], attributes: readonly string[], options: FairnessOptions): void {
  const { approvalThreshold: t, confidence: c, minGroupSize: m } = options;
  if (!(t > 0 && t < 1)) throw new FairnessError(`the approval threshold must lie in (0, 1), not ${t}`);
  if (!(c > 0 && c < 1)) throw new FairnessError(`the confidence must lie in (0, 1), not ${c}`);
  if (!Number.isInteger(m) || m < 1)
    throw new FairnessError(`the smallest group size must be a whole number ≥ 1, not ${m}`);
  if (attributes.length === 0) throw new FairnessError('no protected attribute is named');
  if (new Set(attributes).size !== attributes.length) throw new FairnessError('a protected attribute is named twice');
  rows.forEach((row, i) => {
    if (row.label !== 0 && row.label !== 1) throw new FairnessError(`the label of test row ${i + 1} is not 0 or 1`);
    if (!Number.isFinite(row.score)) throw new FairnessError(`the score of test row ${i + 1} is not finite`);
  });
}

interface Tally {
  rows: number;
  approved: number;
  qualified: number;
  qualifiedApproved: number;
  adverse: number;
  scoreSum: number;
}

function groupFairness(group: string, t: Tally, z: number, minGroupSize: number): GroupFairness {
  const observedRate = t.adverse / t.rows;
  const meanScore = t.scoreSum / t.rows;
  const eo = t.qualified > 0 ? t.qualifiedApproved / t.qualified : null;
  return {
    group,
    rows: t.rows,
    qualified: t.qualified,
    sufficient: t.rows >= minGroupSize && t.qualified > 0,
    approvalRate: t.approved / t.rows,
    approvalRateInterval: wilsonInterval(t.approved, t.rows, z),
    equalOpportunityRate: eo,
    equalOpportunityInterval: t.qualified > 0 ? wilsonInterval(t.qualifiedApproved, t.qualified, z) : null,
    meanScore,
    observedRate,
    observedRateInterval: wilsonInterval(t.adverse, t.rows, z),
    calibrationGap: observedRate - meanScore,
  };
}

function attributeFairness(
  attribute: string,
  rows: readonly FairnessRow[],
  options: FairnessOptions,
  z: number,
): AttributeFairness {
  const tallies = new Map<string, Tally>();
  let missing = 0;
  for (const row of rows) {
    const value = row.attributes?.[attribute];
    if (value === null || value === undefined) {
      missing++;
      continue;
    }
    const group = String(value);
    let t = tallies.get(group);
    if (!t)
      tallies.set(group, (t = { rows: 0, approved: 0, qualified: 0, qualifiedApproved: 0, adverse: 0, scoreSum: 0 }));
    const approved = row.score < options.approvalThreshold ? 1 : 0;
    t.rows++;
    t.approved += approved;
    t.scoreSum += row.score;
    if (row.label === 0) {
      t.qualified++;
      t.qualifiedApproved += approved;
    } else {
      t.adverse++;
    }
  }
  const groups = [...tallies]
    .map(([group, t]) => ({ fairness: groupFairness(group, t, z, options.minGroupSize), tally: t }))
    .sort((a, b) => b.fairness.rows - a.fairness.rows || (a.fairness.group < b.fairness.group ? -1 : 1));
  const sufficient = groups.filter((g) => g.fairness.sufficient);
  const byApproval = [...sufficient].sort((a, b) => a.fairness.approvalRate - b.fairness.approvalRate);
  const byOpportunity = [...sufficient].sort(
    (a, b) => (a.fairness.equalOpportunityRate ?? 0) - (b.fairness.equalOpportunityRate ?? 0),
  );
  const compared = sufficient.length >= 2;
  const low = byApproval[0];
  const high = byApproval.at(-1);
  const eoLow = byOpportunity[0]?.fairness;
  const eoHigh = byOpportunity.at(-1)?.fairness;
  const approvalRatio =
    compared && high!.fairness.approvalRate > 0 ? low.fairness.approvalRate / high!.fairness.approvalRate : null;
  return {
    attribute,
    groups: groups.map((g) => g.fairness),
    missing,
    insufficient: groups.filter((g) => !g.fairness.sufficient).map((g) => g.fairness.group),
    approvalRatio,
    approvalRatioInterval:
      approvalRatio === null
        ? null
        : katzRatioInterval(low.tally.approved, low.tally.rows, high!.tally.approved, high!.tally.rows, z),
    lowestApproval: compared ? low.fairness.group : null,
    highestApproval: compared ? high!.fairness.group : null,
    equalOpportunityDifference: compared ? eoHigh!.equalOpportunityRate! - eoLow!.equalOpportunityRate! : null,
    equalOpportunityDifferenceInterval: compared
      ? newcombeDifferenceInterval(
          eoHigh!.equalOpportunityRate!,
          eoHigh!.equalOpportunityInterval!,
          eoLow!.equalOpportunityRate!,
          eoLow!.equalOpportunityInterval!,
        )
      : null,
    maxCalibrationGap:
      sufficient.length > 0 ? Math.max(...sufficient.map((g) => Math.abs(g.fairness.calibrationGap))) : null,
  };
}

/** The fairness report of scored test rows for each of `attributes`. */
export function fairnessReport(
  rows: readonly FairnessRow[],
  attributes: readonly string[],
  options: FairnessOptions,
  problems: readonly string[] = [],
): FairnessReport {
  checkInput(rows, attributes, options);
  const z = normalQuantile(1 - (1 - options.confidence) / 2);
  return {
    approvalThreshold: options.approvalThreshold,
    confidence: options.confidence,
    minGroupSize: options.minGroupSize,
    rows: rows.length,
    joined: rows.filter((r) => r.attributes !== null).length,
    attributes: attributes.map((a) => attributeFairness(a, rows, options, z)),
    problems: [...problems],
  };
}
