/**
 * Model quality in production, per model version and cohort month (the month a prediction was made):
 *
 * - **Estimated AUC**, from the captured scores alone, before any outcome is known (confidence-based performance
 *   estimation, as NannyML's CBPE): a calibrated score p is a positive with probability p, so each record counts
 *   p as a positive and 1 − p as a negative, and the AUC is the Mann–Whitney statistic of those expected counts —
 *   the area under the expected ROC curve, records of equal score counting half. Valid while the model stays
 *   calibrated (Evaluate measures its calibration error; the gate bounds it).
 * - **Realised AUC, Brier score and calibration**, once outcomes arrive: captured predictions joined by
 *   pseudonymous key to the labels the agent extracts as loans mature (the curated table's latest label of each key).
 *
 * Labels of keys never scored are counted and ignored; a cohort with too few labelled predictions, or with one
 * class only, reports no realised figure and says why.
 */
import type { ModelMetrics } from '../../contracts/model-metrics';
import { binaryMetrics } from '../model-metrics';

/**
 * The expected AUC of scores taken as calibrated probabilities (null for fewer than two scores, or when every
 * score is 0 or every score is 1: no expected positive or no expected negative).
 */
export function estimatedAuc(scores: ArrayLike<number>): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let negativesBelow = 0;
  let pairs = 0;
  let positives = 0;
  for (let i = 0; i < n;) {
    let j = i;
    let groupPos = 0;
    let groupNeg = 0;
    while (j < n && scores[order[j]] === scores[order[i]]) {
      const p = Math.min(1, Math.max(0, scores[order[j++]]));
      groupPos += p;
      groupNeg += 1 - p;
    }
    pairs += groupPos * negativesBelow + 0.5 * groupPos * groupNeg;
    negativesBelow += groupNeg;
    positives += groupPos;
    i = j;
  }
  const negatives = n - positives;
  if (n < 2 || positives <= 0 || negatives <= 0) return null;
  return pairs / (positives * negatives);
}

/** One captured prediction, as the quality job reads it. */
export interface ScoredPrediction {
  readonly modelVersion: string;
  /** ISO 8601: when the prediction was made. */
  readonly capturedAt: string;
  readonly score: number;
  /** The pseudonymous key, when the caller gave one. */
  readonly key?: string;
}

/** Quality of one model version's predictions of one month. */
export interface CohortQuality {
  readonly modelVersion: string;
  /** `YYYY-MM` of the predictions. */
  readonly cohort: string;
  readonly predictions: number;
  readonly estimatedAuc: number | null;
  /** Predictions whose key has a label. */
  readonly labelled: number;
  /** Realised metrics of the labelled predictions (null until there are enough of both classes). */
  readonly realised: Pick<ModelMetrics, 'auc' | 'brier' | 'calibrationError' | 'positives' | 'rows'> | null;
  /** Why there is no realised figure (null when there is one). */
  readonly pending: string | null;
}

/** The quality job's findings. */
export interface QualityReport {
  readonly cohorts: readonly CohortQuality[];
  /** Labels whose key no captured prediction carries (loans scored elsewhere, or before capture). */
  readonly unmatchedLabels: number;
  /** Predictions without a key: estimated, never joined. */
  readonly unkeyed: number;
}

/**
 * Quality per version and cohort month of `predictions`, with `labels` (key → 0 or 1). The latest prediction of a
 * key within a cohort is the one joined (a loan re-scored counts once).
 */
export function qualityReport(
  predictions: readonly ScoredPrediction[],
  labels: ReadonlyMap<string, number>,
  options: { readonly minLabelled: number },
): QualityReport {
  const cohorts = new Map<string, ScoredPrediction[]>();
  let unkeyed = 0;
  for (const p of predictions) {
    if (!Number.isFinite(p.score)) continue;
    if (p.key === undefined) unkeyed++;
    const id = `${p.modelVersion}\u0000${p.capturedAt.slice(0, 7)}`;
    const list = cohorts.get(id) ?? [];
    list.push(p);
    cohorts.set(id, list);
  }
  const scoredKeys = new Set(predictions.filter((p) => p.key !== undefined).map((p) => p.key!));
  const result: CohortQuality[] = [];
  for (const [id, list] of [...cohorts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [modelVersion, cohort] = id.split('\u0000');
    const latest = new Map<string, ScoredPrediction>();
    for (const p of list) {
      if (p.key === undefined) continue;
      const seen = latest.get(p.key);
      if (!seen || seen.capturedAt <= p.capturedAt) latest.set(p.key, p);
    }
    const joined = [...latest.values()].filter((p) => labels.has(p.key!));
    const y = joined.map((p) => labels.get(p.key!)!);
    const s = joined.map((p) => p.score);
    const positives = y.filter((v) => v === 1).length;
    let realised: CohortQuality['realised'] = null;
    let pending: string | null = null;
    if (joined.length < options.minLabelled) {
      pending = `${joined.length} labelled prediction(s), fewer than ${options.minLabelled}`;
    } else if (positives === 0 || positives === joined.length) {
      pending = `the ${joined.length} labelled predictions hold one class only`;
    } else {
      const m = binaryMetrics(y, s);
      realised = {
        auc: m.auc,
        brier: m.brier,
        calibrationError: m.calibrationError,
        positives: m.positives,
        rows: m.rows,
      };
    }
    result.push({
      modelVersion,
      cohort,
      predictions: list.length,
      estimatedAuc: estimatedAuc(list.map((p) => p.score)),
      labelled: joined.length,
      realised,
      pending,
    });
  }
  let unmatchedLabels = 0;
  for (const key of labels.keys()) if (!scoredKeys.has(key)) unmatchedLabels++;
  return { cohorts: result, unmatchedLabels, unkeyed };
}
