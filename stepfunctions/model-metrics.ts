/**
 * Binary-classifier metrics Evaluate reports for a candidate and the champion on the same test rows: AUC
 * (ties counted half, as the Mann-Whitney statistic), Gini, Kolmogorov-Smirnov, Brier score and a calibration
 * table with its expected calibration error.
 */
import type { CalibrationBin, ModelMetrics } from '../contracts/model-metrics';

export type { CalibrationBin, ModelMetrics };

/** Raised when metrics are undefined for the labels (no rows, or a single class). */
export class MetricsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsError';
  }
}

/** Computes every metric from labels (0/1) and predicted probabilities. */
export function binaryMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = 10): ModelMetrics {
  const n = labels.length;
  if (n !== scores.length) throw new MetricsError(`${n} labels but ${scores.length} scores`);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new MetricsError(`label at row ${i} is not 0 or 1`);
    if (!Number.isFinite(scores[i])) throw new MetricsError(`score at row ${i} is not finite`);
    positives += labels[i];
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new MetricsError(
      `metrics need both classes; the set has ${positives} positive and ${negatives} negative rows`,
    );
  }

  // Ascending by score; ties form one group that contributes half its cross pairs (AUC) and one KS step.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankedNegatives = 0;
  let pairs = 0;
  let ks = 0;
  let cumPos = 0;
  let cumNeg = 0;
  for (let i = 0; i < n;) {
    let j = i;
    let groupPos = 0;
    while (j < n && scores[order[j]] === scores[order[i]]) groupPos += labels[order[j++]];
    const groupNeg = j - i - groupPos;
    pairs += groupPos * rankedNegatives + 0.5 * groupPos * groupNeg;
    rankedNegatives += groupNeg;
    cumPos += groupPos;
    cumNeg += groupNeg;
    ks = Math.max(ks, Math.abs(cumNeg / negatives - cumPos / positives));
    i = j;
  }
  const auc = pairs / (positives * negatives);

  let brier = 0;
  const sums = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = scores[i];
    brier += (p - labels[i]) ** 2;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    sums[b] += p;
    hits[b] += labels[i];
    counts[b]++;
  }
  const calibration: CalibrationBin[] = [];
  let calibrationError = 0;
  for (let b = 0; b < bins; b++) {
    if (counts[b] === 0) continue;
    const meanPredicted = sums[b] / counts[b];
    const observedRate = hits[b] / counts[b];
    calibration.push({ low: b / bins, high: (b + 1) / bins, count: counts[b], meanPredicted, observedRate });
    calibrationError += (counts[b] / n) * Math.abs(observedRate - meanPredicted);
  }
  return { rows: n, positives, auc, gini: 2 * auc - 1, ks, brier: brier / n, calibrationError, calibration };
}

/** One point of a ROC curve: the rates of predicting positive at or above a threshold. */
export interface RocPoint {
  readonly falsePositiveRate: number;
  readonly truePositiveRate: number;
}

/**
 * The ROC curve from (0, 0) to (1, 1), one vertex per distinct score (highest first; tied scores move both
 * rates at once, so the trapezoid area under the vertices is {@link binaryMetrics}' AUC exactly). Kept to at
 * most `maxPoints` vertices for a chart: past that, vertices at evenly spaced ranks, the end points included.
 */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = 201): RocPoint[] {
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i];
  const negatives = n - positives;
  if (n !== scores.length || positives === 0 || negatives === 0) {
    throw new MetricsError('a ROC curve needs as many scores as labels and both classes');
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const vertices: RocPoint[] = [{ falsePositiveRate: 0, truePositiveRate: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j < n && scores[order[j]] === scores[order[i]]) {
      if (labels[order[j]] === 1) tp++;
      else fp++;
      j++;
    }
    vertices.push({ falsePositiveRate: fp / negatives, truePositiveRate: tp / positives });
    i = j;
  }
  if (vertices.length <= maxPoints) return vertices;
  const kept: RocPoint[] = [];
  const step = (vertices.length - 1) / (maxPoints - 1);
  for (let k = 0; k < maxPoints; k++) kept.push(vertices[Math.round(k * step)]);
  return kept;
}

/** Test-split scores in equal-width bins over [0, 1], by outcome. */
export interface ScoreHistogram {
  /** Bin edges, `bins + 1` of them, from 0 to 1; bin b holds scores in [edges[b], edges[b + 1]), the last one 1 too. */
  readonly edges: readonly number[];
  readonly positives: readonly number[];
  readonly negatives: readonly number[];
}

/** The histogram of probability scores by outcome, in `bins` equal bins (scores outside [0, 1] clamp to the ends). */
export function scoreHistogram(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = 20): ScoreHistogram {
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(scores[i] * bins)));
    (labels[i] === 1 ? positives : negatives)[b]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, b) => b / bins), positives, negatives };
}
