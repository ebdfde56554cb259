/**
 * Drift of a window against the baseline: the population stability index (PSI) of every feature and of the
 * score, the Jensen–Shannon divergence of categorical features, and the share of features that drifted.
 *
 * PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins (missing included), with eᵢ and aᵢ the baseline's and the
 * window's shares of bin i; a bin empty on both sides adds nothing, and a share of zero on one side counts as
 * {@link PSI_EPSILON} so that a bin that emptied or appeared weighs a finite amount. Jensen–Shannon is the
 * base-2 divergence, between 0 (same distribution) and 1 (disjoint).
 */
import { DriftCountsError, type MergedCounts } from './drift-counts';
import { type DriftBaseline, referenceCounts } from './drift-baseline';

/** Floor of a bin's share in the PSI, for bins empty on one side. */
export const PSI_EPSILON = 1e-4;

/** Identifier of the report format. */
export const DRIFT_REPORT_FORMAT = 'mlp.drift-report/1';

type Count = number | bigint;

/** Shares of a histogram (all zero for an empty one). */
function shares(counts: ArrayLike<Count>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += Number(counts[i]);
  return Array.from({ length: counts.length }, (_, i) => (total > 0 ? Number(counts[i]) / total : 0));
}

/** PSI of `actual` against `expected`, two histograms over the same bins. */
export function psi(expected: ArrayLike<Count>, actual: ArrayLike<Count>, epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new RangeError('the histograms have different bins');
  const e = shares(expected);
  const a = shares(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    if (e[i] === 0 && a[i] === 0) continue;
    const ei = Math.max(e[i], epsilon);
    const ai = Math.max(a[i], epsilon);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/** Base-2 Jensen–Shannon divergence of two histograms over the same bins, in [0, 1]. */
export function jensenShannon(expected: ArrayLike<Count>, actual: ArrayLike<Count>): number {
  if (expected.length !== actual.length) throw new RangeError('the histograms have different bins');
  const p = shares(expected);
  const q = shares(actual);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) sum += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) sum += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  return Math.min(1, Math.max(0, sum));
}

/** Thresholds of a drift report. */
export interface DriftOptions {
  /** PSI at or above which a feature (or the score) has drifted (the environment's `driftPsi`). */
  readonly psiThreshold: number;
  /** Fewest records a window needs to be judged; smaller windows are reported as insufficient. */
  readonly minRecords: number;
}

/**
 * How a feature stands: `drifted` (PSI at or above the threshold), `stable`, `insufficient` (too few records or
 * none present), `absent` (the window has no counts of it), `incompatible` (counted against other bins).
 */
export type DriftStatus = 'stable' | 'drifted' | 'insufficient' | 'absent' | 'incompatible';

/** Drift of one feature, or of the score. */
export interface FeatureDrift {
  readonly name: string;
  readonly type: 'numeric' | 'categorical' | 'score';
  readonly status: DriftStatus;
  readonly psi: number | null;
  /** Categorical features only. */
  readonly jensenShannon: number | null;
  /** Share of the window's values that were missing (null without counts). */
  readonly missingShare: number | null;
}

/** A window's drift. */
export interface DriftReport {
  readonly format: typeof DRIFT_REPORT_FORMAT;
  readonly modelVersion: string;
  readonly records: number;
  readonly psiThreshold: number;
  readonly minRecords: number;
  /** False when the window has fewer than `minRecords` records: nothing is judged. */
  readonly judged: boolean;
  readonly features: readonly FeatureDrift[];
  readonly score: FeatureDrift | null;
  /** Largest PSI of a judged feature or the score (null when none was judged). */
  readonly maxPsi: number | null;
  /** Drifted features over judged features (null when none was judged). */
  readonly driftedShare: number | null;
  /** Names of the drifted features (and `score`). */
  readonly drifted: readonly string[];
  /** Features the window counted that the baseline does not hold (not judged). */
  readonly unknownFeatures: readonly string[];
}

/**
 * Compares a merged window with its model's baseline. Throws {@link DriftCountsError} when the baseline is of
 * another model version than the counts; every other mismatch is a status, never a false alarm.
 */
export function driftReport(baseline: DriftBaseline, window: MergedCounts, options: DriftOptions): DriftReport {
  if (baseline.modelVersion !== undefined && baseline.modelVersion !== window.modelVersion) {
    throw new DriftCountsError(
      `the baseline is of ${baseline.modelVersion} and the counts of ${window.modelVersion}: compare a window with its own model's baseline`,
    );
  }
  const records = Number(window.records);
  const judged = records >= options.minRecords && records > 0;
  const judge = (
    name: string,
    type: FeatureDrift['type'],
    reference: number[],
    actual: readonly bigint[] | undefined,
  ): FeatureDrift => {
    const none = { name, type, psi: null, jensenShannon: null };
    if (!actual) return { ...none, status: 'absent', missingShare: null };
    if (actual.length !== reference.length) return { ...none, status: 'incompatible', missingShare: null };
    const total = actual.reduce((s, v) => s + v, 0n);
    const missingShare = total > 0n ? Number(actual[actual.length - 1]) / Number(total) : null;
    const referenceTotal = reference.reduce((s, v) => s + v, 0);
    if (!judged || total === 0n || referenceTotal === 0) return { ...none, status: 'insufficient', missingShare };
    const value = psi(reference, actual);
    return {
      name,
      type,
      status: value >= options.psiThreshold ? 'drifted' : 'stable',
      psi: value,
      jensenShannon: type === 'categorical' ? jensenShannon(reference, actual) : null,
      missingShare,
    };
  };
  const features = baseline.features.map((f) => judge(f.name, f.type, referenceCounts(f), window.features.get(f.name)));
  const score = baseline.score ? judge('score', 'score', referenceCounts(baseline.score), window.score) : null;
  const known = new Set(baseline.features.map((f) => f.name));
  const judgedFeatures = features.filter((f) => f.psi !== null);
  const all = score && score.psi !== null ? [...judgedFeatures, score] : judgedFeatures;
  return {
    format: DRIFT_REPORT_FORMAT,
    modelVersion: window.modelVersion,
    records,
    psiThreshold: options.psiThreshold,
    minRecords: options.minRecords,
    judged,
    features,
    score,
    maxPsi: all.length ? Math.max(...all.map((f) => f.psi!)) : null,
    driftedShare: judgedFeatures.length
      ? judgedFeatures.filter((f) => f.status === 'drifted').length / judgedFeatures.length
      : null,
    drifted: all.filter((f) => f.status === 'drifted').map((f) => f.name),
    unknownFeatures: [...window.features.keys()].filter((name) => !known.has(name)),
  };
}
