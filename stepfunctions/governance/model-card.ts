/**
 * The model card of a registered version: what it is for, what it was trained on, how well it does (AUC with a
 * confidence interval), how fair it is (when a fairness evaluation was recorded), what drift is measured
 * against, and who decided what about it and when (from the approval trail). Built by a pure function from what
 * the platform already keeps; `writeModelCard` (model-card-writer.ts) stores it as JSON and HTML beside the
 * version's evaluation and records where in the registry.
 */
import type { FairnessReport, Interval } from '../../contracts/fairness';
import type { Evaluation } from '../steps/evaluate';
import type { FeatureSpec } from '../../lambdas/features/feature-spec';
import type { DriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import type { TrainingSetLineage } from '../curated/training-set';
import type { ModelVersionRecord } from '../model-registry';
import type { TrailEntry, TrailEvent } from './approval-trail';

/** Identifier of the card's JSON format. */
export const MODEL_CARD_FORMAT = 'mlp.model-card/1';

/** What the card says when the evaluation carries no fairness report. */
export const NO_FAIRNESS = 'no fairness evaluation configured/recorded for this version';

/** The parts of Evaluate's document (`models.evaluationKey`) the card reads: the Evaluation it records. */
export type EvaluationDocument = Pick<Evaluation, 'candidate' | 'champion' | 'fairness'> &
  Partial<Pick<Evaluation, 'evaluationUri' | 'baselineUri' | 'modelSha256'>>;

/** AUC with its interval: Hanley & McNeil (1982) from AUC, positives and negatives, normal approximation. */
export interface AucInterval extends Interval {
  readonly confidence: number;
  readonly method: string;
}

/** One decision about the version, as the trail holds it. */
export interface CardDecision {
  readonly sequence: number;
  readonly at: string;
  readonly event: TrailEvent;
  /** `kind:id` of who decided (the state machine, the local account, an IAM identity). */
  readonly principal: string;
  readonly reason: string | null;
}

/** The card as JSON (`card.json`); the HTML shows the same. */
export interface ModelCard {
  readonly format: typeof MODEL_CARD_FORMAT;
  readonly generatedAt: string;
  readonly environment: string;
  readonly model: {
    readonly version: string;
    readonly modelPackageArn: string;
    readonly status: string;
    readonly statusReasons: readonly string[];
    readonly registeredAt: string;
    readonly deployedAt: string | null;
    readonly artifact: { readonly uri: string; readonly sha256: string | null };
    readonly trainingJob: string | null;
    readonly image: string;
    readonly codeVersion: string | null;
    readonly trigger: string | null;
  };
  readonly intendedUse: string;
  readonly data: {
    readonly dataset: string;
    readonly label: string;
    readonly datasetVersion: string | null;
    readonly extract: { readonly manifestUri: string | null; readonly runId: string | null };
    readonly policySha256: string | null;
    readonly pseudonymKeyId: string | null;
    readonly agentVersion: string | null;
    /** From the training set's lineage; null when it is not recorded. */
    readonly asOf: string | null;
    readonly window: TrainingSetLineage['window'] | null;
    readonly maturity: TrainingSetLineage['maturity'] | null;
    readonly rows: TrainingSetLineage['rows'] | null;
    readonly manifests: number | null;
  };
  readonly features: {
    readonly specUri: string | null;
    readonly specSha256: string | null;
    readonly list: readonly {
      readonly name: string;
      readonly type: string;
      readonly encoding?: string;
      readonly categories?: number;
    }[];
  };
  readonly metrics: {
    readonly rows: number;
    readonly positives: number;
    readonly negatives: number;
    readonly auc: number;
    readonly aucInterval: AucInterval;
    readonly gini: number;
    readonly ks: number;
    readonly brier: number;
    readonly calibrationError: number;
    readonly champion: { readonly modelVersion: string; readonly auc: number; readonly brier: number } | null;
  } | null;
  /** The evaluation's fairness report, or null with `fairnessNote` saying there is none. */
  readonly fairness: FairnessReport | null;
  readonly fairnessNote: string | null;
  readonly driftBaseline: {
    readonly uri: string | null;
    readonly rows: number;
    readonly features: readonly {
      readonly name: string;
      readonly type: string;
      readonly bins: number;
      readonly missing: number;
    }[];
    readonly score: {
      readonly edges: readonly number[];
      readonly counts: readonly number[];
      readonly mean: number | null;
    } | null;
  } | null;
  readonly governance: {
    /** The gate's decision (latest gate entry). */
    readonly gate: CardDecision | null;
    /** The human decision (approved / rejected), when there was one. */
    readonly approval: CardDecision | null;
    /** The end of the story so far: deployed, rolled back, rejected, or the gate's failure. */
    readonly outcome: CardDecision | null;
    readonly trail: readonly CardDecision[];
  };
  /** What could not be read, and why: a card is still written without it. */
  readonly missing: readonly string[];
}

/** What the card is built from. */
export interface ModelCardSources {
  readonly environment: string;
  readonly dataset: string;
  readonly label: string;
  /** Config `retraining.intendedUse`; a default is derived from dataset and label without it. */
  readonly intendedUse?: string;
  readonly record: ModelVersionRecord;
  readonly evaluation: EvaluationDocument | null;
  readonly featureSpec: FeatureSpec | null;
  readonly featureSpecSha256?: string;
  readonly baseline: DriftBaseline | null;
  readonly trainingSet: TrainingSetLineage | null;
  /** The trail's entries about this version, in order. */
  readonly trail: readonly TrailEntry[];
  readonly missing?: readonly string[];
  readonly generatedAt: Date;
}

/** The intended-use text of a dataset and label when the configuration gives none. */
export function defaultIntendedUse(dataset: string, label: string): string {
  return (
    `Estimates the probability that ${label} = 1 for a record of the ${dataset} dataset (binary ` +
    `classification), to support the bank's decisions on applications like those in the training window. ` +
    'Not validated for other populations, products or purposes; the score supports, and does not replace, a ' +
    'decision by the bank.'
  );
}

/** The standard normal quantile of a two-sided `confidence` (0.95 → 1.959964). */
function zOf(confidence: number): number {
  // Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9).
  const p = 1 - (1 - confidence) / 2;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * The Hanley–McNeil (1982) interval of an AUC from the numbers of positives and negatives it was measured on:
 * SE² = (A(1−A) + (P−1)(Q1−A²) + (N−1)(Q2−A²)) / (P·N), Q1 = A/(2−A), Q2 = 2A²/(1+A), A ± z·SE clipped to
 * [0, 1]. The evaluation keeps counts, not scores, so DeLong's interval (which needs every score) cannot be had.
 */
export function hanleyMcNeilInterval(
  auc: number,
  positives: number,
  negatives: number,
  confidence = 0.95,
): AucInterval {
  if (!(positives > 0 && negatives > 0)) throw new RangeError('an AUC interval needs positives and negatives');
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const variance =
    (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) /
    (positives * negatives);
  const half = zOf(confidence) * Math.sqrt(Math.max(0, variance));
  return {
    low: Math.max(0, auc - half),
    high: Math.min(1, auc + half),
    confidence,
    method: 'Hanley-McNeil (1982), from AUC, positives and negatives of the test split',
  };
}

function decisionOf(entry: TrailEntry): CardDecision {
  return {
    sequence: entry.sequence,
    at: entry.at,
    event: entry.event,
    principal: `${entry.principal.kind}:${entry.principal.id}`,
    reason: entry.reason ?? null,
  };
}

const GATE: readonly TrailEvent[] = ['gate-passed', 'gate-failed'];
const HUMAN: readonly TrailEvent[] = ['approved', 'rejected'];
const OUTCOME: readonly TrailEvent[] = ['deployed', 'rolled-back', 'rejected', 'gate-failed'];

/** Builds the card (pure: everything it shows is in `sources`). */
export function buildModelCard(sources: ModelCardSources): ModelCard {
  const { record, evaluation, featureSpec, baseline, trainingSet } = sources;
  const m = record.metadata;
  const missing = [...(sources.missing ?? [])];
  const trail = sources.trail.filter((e) => e.modelVersion === record.modelVersion);
  const last = (events: readonly TrailEvent[]) => {
    const entry = trail.filter((e) => events.includes(e.event)).at(-1);
    return entry ? decisionOf(entry) : null;
  };
  if (trail.length === 0) missing.push('the approval trail holds no entry about this version');

  const candidate = evaluation?.candidate;
  const metrics: ModelCard['metrics'] = candidate
    ? {
        rows: candidate.rows,
        positives: candidate.positives,
        negatives: candidate.rows - candidate.positives,
        auc: candidate.auc,
        aucInterval: hanleyMcNeilInterval(candidate.auc, candidate.positives, candidate.rows - candidate.positives),
        gini: candidate.gini,
        ks: candidate.ks,
        brier: candidate.brier,
        calibrationError: candidate.calibrationError,
        champion: evaluation.champion
          ? {
              modelVersion: evaluation.champion.modelVersion,
              auc: evaluation.champion.metrics.auc,
              brier: evaluation.champion.metrics.brier,
            }
          : null,
      }
    : null;

  return {
    format: MODEL_CARD_FORMAT,
    generatedAt: sources.generatedAt.toISOString(),
    environment: sources.environment,
    model: {
      version: record.modelVersion,
      modelPackageArn: record.modelPackageArn,
      status: record.status,
      statusReasons: record.statusReasons ?? [],
      registeredAt: record.createdAt,
      deployedAt: record.deployedAt ?? null,
      artifact: { uri: record.modelDataUrl, sha256: m.modelSha256 ?? evaluation?.modelSha256 ?? null },
      trainingJob: m.trainingJobName ?? null,
      image: record.image,
      codeVersion: m.codeVersion ?? null,
      trigger: m.trigger ?? null,
    },
    intendedUse: sources.intendedUse ?? defaultIntendedUse(sources.dataset, sources.label),
    data: {
      dataset: sources.dataset,
      label: sources.label,
      datasetVersion: m.datasetVersion ?? trainingSet?.datasetVersion ?? null,
      extract: { manifestUri: m.manifestUri ?? null, runId: m.extractRunId ?? null },
      policySha256: m.policySha256 ?? null,
      pseudonymKeyId: m.kid ?? trainingSet?.kid ?? null,
      agentVersion: m.agentVersion ?? null,
      asOf: trainingSet?.asOf ?? null,
      window: trainingSet?.window ?? null,
      maturity: trainingSet?.maturity ?? null,
      rows: trainingSet?.rows ?? null,
      manifests: trainingSet ? trainingSet.manifests.length : null,
    },
    features: {
      specUri: m.featureSpecUri ?? null,
      specSha256: sources.featureSpecSha256 ?? null,
      list: (featureSpec?.features ?? []).map((f) =>
        f.type === 'categorical'
          ? { name: f.name, type: f.type, encoding: f.encoding, categories: f.categories.length }
          : { name: f.name, type: f.type },
      ),
    },
    metrics,
    fairness: evaluation?.fairness ?? null,
    fairnessNote: evaluation?.fairness ? null : NO_FAIRNESS,
    driftBaseline: baseline
      ? {
          uri: evaluation?.baselineUri ?? null,
          rows: baseline.rows,
          features: baseline.features.map((f) => ({
            name: f.name,
            type: f.type,
            bins: f.counts.length,
            missing: f.missing,
          })),
          score: baseline.score
            ? { edges: baseline.score.edges, counts: baseline.score.counts, mean: baseline.score.mean }
            : null,
        }
      : null,
    governance: {
      gate: last(GATE),
      approval: last(HUMAN),
      outcome: last(OUTCOME),
      trail: trail.map(decisionOf),
    },
    missing,
  };
}
