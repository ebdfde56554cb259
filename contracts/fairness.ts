/**
 * The fairness report Evaluate writes for a candidate (in the evaluation document and the state the Gate reads)
 * and the model card shows: for each configured protected attribute, the candidate's decisions on the test split
 * by group. The model scores the probability of the adverse outcome (default); an application is approved when
 * its score is below `approvalThreshold`. Definitions follow Fairlearn's, with approval as the favourable
 * (positive) prediction and repayment (label 0) as the favourable outcome:
 * - approval rate = selection rate of the group (Fairlearn `selection_rate` of the approve decision);
 * - approval ratio = lowest / highest approval rate over the sufficient groups (Fairlearn
 *   `demographic_parity_ratio`; the four-fifths rule asks ≥ 0.8);
 * - equal opportunity rate = approval rate among the group's qualified applicants (label 0): Fairlearn's
 *   `true_positive_rate`; equal-opportunity difference = highest − lowest over the sufficient groups
 *   (Fairlearn `equal_opportunity_difference`);
 * - calibration gap = observed adverse rate − mean score of the group.
 * Intervals are two-sided at `confidence`: Wilson score intervals for rates, Katz's log interval for the ratio of
 * the two extreme groups' approval rates, Newcombe's hybrid score interval for the difference of their equal
 * opportunity rates.
 */

/** A two-sided confidence interval. */
export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** One group of one attribute on the test split. */
export interface GroupFairness {
  /** The attribute's value (as the attributes dataset carries it, e.g. `30-39`). */
  readonly group: string;
  readonly rows: number;
  /** Rows with the favourable outcome (label 0): the base of the equal opportunity rate. */
  readonly qualified: number;
  /** Whether the group has at least `minGroupSize` rows, one of them qualified: only such groups are compared. */
  readonly sufficient: boolean;
  readonly approvalRate: number;
  readonly approvalRateInterval: Interval;
  /** Approval rate among the qualified; null without qualified rows. */
  readonly equalOpportunityRate: number | null;
  readonly equalOpportunityInterval: Interval | null;
  readonly meanScore: number;
  /** Share of the group with the adverse outcome (label 1). */
  readonly observedRate: number;
  readonly observedRateInterval: Interval;
  /** observedRate − meanScore. */
  readonly calibrationGap: number;
}

/** The comparison of one attribute's groups. */
export interface AttributeFairness {
  readonly attribute: string;
  /** Every group seen, largest first (ties by name). */
  readonly groups: readonly GroupFairness[];
  /** Test rows with no value of the attribute (no attributes row for the key, or a null value). */
  readonly missing: number;
  /** Groups too small to judge (see {@link GroupFairness.sufficient}), by name. */
  readonly insufficient: readonly string[];
  /** Lowest / highest approval rate over the sufficient groups; null with fewer than two sufficient groups. */
  readonly approvalRatio: number | null;
  readonly approvalRatioInterval: Interval | null;
  /** The sufficient groups with the lowest and highest approval rate. */
  readonly lowestApproval: string | null;
  readonly highestApproval: string | null;
  /** Highest − lowest equal opportunity rate over the sufficient groups; null with fewer than two. */
  readonly equalOpportunityDifference: number | null;
  readonly equalOpportunityDifferenceInterval: Interval | null;
  /** The largest |calibration gap| over the sufficient groups; null without one. */
  readonly maxCalibrationGap: number | null;
}

/** The fairness of one candidate on the test split. */
export interface FairnessReport {
  readonly approvalThreshold: number;
  readonly confidence: number;
  readonly minGroupSize: number;
  /** Test rows scored. */
  readonly rows: number;
  /** Test rows whose key joined an attributes row. */
  readonly joined: number;
  readonly attributes: readonly AttributeFairness[];
  /** What kept the report from being complete (attributes dataset absent, keys that do not join, …). */
  readonly problems: readonly string[];
}
