/**
 * Test-split metrics of a binary classifier, as Evaluate records them (in the evaluation document beside the
 * model, in the champion pointer) and as the gate, the registry readers and the CLI read them.
 */

/** One calibration bin: predictions in [low, high). */
export interface CalibrationBin {
  readonly low: number;
  readonly high: number;
  readonly count: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
}

/** Metrics of one model on one labelled set. */
export interface ModelMetrics {
  readonly rows: number;
  readonly positives: number;
  /** Area under the ROC curve, ties counted half (the Mann-Whitney statistic). */
  readonly auc: number;
  readonly gini: number;
  /** Kolmogorov-Smirnov statistic. */
  readonly ks: number;
  readonly brier: number;
  /** Expected calibration error: count-weighted mean |observed rate - mean prediction| over the bins. */
  readonly calibrationError: number;
  readonly calibration: readonly CalibrationBin[];
}
