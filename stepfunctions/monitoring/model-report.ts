/**
 * What `mlp report MODEL_VERSION` shows of one registered model version, gathered from where the platform keeps it:
 * the registry record (lineage, decision), Evaluate's document (test-split metrics, ROC curve, score histogram by
 * outcome, the champion it was compared with), the artifact itself (splits per feature), the drift job's reports
 * of that version (PSI per feature, latest and over time) and the latest quality report (estimated and realised
 * AUC per cohort month). A part that is absent or unreadable is left out and named in `missing`: the report of
 * a version that was never served, or served before baselines existed, is still a report.
 */
import * as z from 'zod/mini';
import { describeIssues } from '../../contracts/describe-issues';
import type { ModelMetrics } from '../../contracts/model-metrics';
import { capture, s3Uri } from '../../contracts/s3-layout';
import { columnFeatures, parseFeatureSpec } from '../../lambdas/features/feature-spec';
import { splitCounts } from '../../lambdas/xgboost/feature-importance';
import { readModel } from '../../lambdas/xgboost/read-model';
import type { ArtifactStore } from '../artifact-store';
import type { RocPoint, ScoreHistogram } from '../model-metrics';
import type { ModelVersionRecord } from '../model-registry';
import type { CohortQuality } from './quality';
import { sdkErrorSummary } from '../sdk-error';

/** Identifier of the report's data format (`mlp report --json`). */
export const MODEL_REPORT_FORMAT = 'mlp.model-report/1';

/** Drift reports of a version read for the PSI-over-time chart: the latest week of hourly runs. */
export const DRIFT_HISTORY_RUNS = 168;

/** One drift run of the version: when, how many records, PSI per feature (null: not judged). */
export interface DriftRun {
  readonly at: string;
  readonly records: number;
  readonly judged: boolean;
  readonly maxPsi: number | null;
  readonly features: readonly { readonly name: string; readonly psi: number | null; readonly drifted: boolean }[];
  readonly scorePsi: number | null;
}

/** Everything the report shows; each part null when it could not be had (the reason is in `missing`). */
export interface ModelReportData {
  readonly format: typeof MODEL_REPORT_FORMAT;
  readonly generatedAt: string;
  readonly environment: string;
  readonly model: {
    readonly version: string;
    readonly status: string;
    readonly createdAt: string;
    readonly deployedAt?: string;
    readonly approver?: string;
    readonly statusReasons?: readonly string[];
    /** Lineage as registered: training job, dataset version, extract, policy hash, code version, trigger. */
    readonly lineage: Readonly<Record<string, string>>;
  };
  readonly evaluation: {
    readonly candidate: ModelMetrics;
    readonly champion: { readonly modelVersion: string; readonly metrics: ModelMetrics } | null;
    readonly roc: readonly RocPoint[] | null;
    readonly scoreHistogram: ScoreHistogram | null;
  } | null;
  /** Splits per feature (one-hot columns counted as their feature), most used first. */
  readonly importance: readonly { readonly feature: string; readonly splits: number }[] | null;
  readonly drift: {
    readonly psiThreshold: number;
    /** The latest judged run (the latest run when none was judged): the one the report ranks features by. */
    readonly latest: DriftRun;
    /** Oldest first, every run read (judged or not). */
    readonly history: readonly DriftRun[];
  } | null;
  readonly quality: { readonly at: string | null; readonly cohorts: readonly CohortQuality[] } | null;
  /** What could not be shown, and why. */
  readonly missing: readonly string[];
}

/** Where the parts are. */
export interface ModelReportSources {
  readonly environment: string;
  readonly dataset: string;
  readonly captureBucket: string;
}

const finite = z.number().check(z.refine(Number.isFinite, 'must be finite'));
const count = z.number().check(z.int(), z.gte(0));
const metricsSchema = z.looseObject({
  rows: count,
  positives: count,
  auc: finite,
  gini: finite,
  ks: finite,
  brier: finite,
  calibrationError: finite,
  calibration: z.array(
    z.looseObject({ low: finite, high: finite, count, meanPredicted: finite, observedRate: finite }),
  ),
});
const evaluationSchema = z.looseObject({
  candidate: metricsSchema,
  champion: z.nullable(z.looseObject({ modelVersion: z.string(), metrics: metricsSchema })),
  curves: z.optional(
    z.looseObject({
      roc: z.array(z.looseObject({ falsePositiveRate: finite, truePositiveRate: finite })),
      scoreHistogram: z
        .looseObject({ edges: z.array(finite), positives: z.array(count), negatives: z.array(count) })
        .check(
          z.refine(
            (h) => h.positives.length === h.edges.length - 1 && h.negatives.length === h.edges.length - 1,
            'scoreHistogram: one count of positives and of negatives per bin between its edges',
          ),
        ),
    }),
  ),
});
const psi = z.nullable(finite);
const driftSchema = z.looseObject({
  modelVersion: z.string(),
  records: count,
  judged: z.boolean(),
  psiThreshold: finite,
  maxPsi: psi,
  features: z.array(z.looseObject({ name: z.string(), psi, status: z.string() })),
  score: z.nullable(z.looseObject({ psi })),
  window: z.looseObject({ to: z.string() }),
});
const qualitySchema = z.looseObject({
  at: z.optional(z.string()),
  cohorts: z.array(
    z.looseObject({
      modelVersion: z.string(),
      cohort: z.string(),
      predictions: count,
      estimatedAuc: z.nullable(finite),
      labelled: count,
      realised: z.nullable(
        z.looseObject({ auc: finite, brier: finite, calibrationError: finite, positives: count, rows: count }),
      ),
      pending: z.nullable(z.string()),
    }),
  ),
});

/**
 * What a failure to read says in the report: an AWS SDK error by its name and HTTP status only (its message can
 * carry the caller's ARN and account, which do not belong in a file passed around a bank), any other its message.
 */
function failure(error: unknown): string {
  return sdkErrorSummary(error) ?? String((error as Error)?.message ?? error).slice(0, 200);
}

/** Reads and validates one JSON document; throws naming the document and its problems. */
async function readDocument<S extends z.ZodMiniType>(
  store: ArtifactStore,
  uri: string,
  schema: S,
): Promise<z.infer<S>> {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(await store.get(uri)).toString('utf8'));
  } catch (error) {
    throw new Error(`${uri} cannot be read: ${failure(error)}`, { cause: error });
  }
  const result = schema.safeParse(document);
  if (!result.success) throw new Error(`${uri}: ${describeIssues(result.error.issues).slice(0, 3).join('; ')}`);
  return result.data as z.infer<S>;
}

/** Runs `read`; on failure records why under `what` and yields null. */
async function part<T>(missing: string[], what: string, read: () => Promise<T | null>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    missing.push(`${what}: ${failure(error)}`);
    return null;
  }
}

/** Gathers the report of `record` at `now`. */
export async function gatherModelReport(
  store: ArtifactStore,
  sources: ModelReportSources,
  record: ModelVersionRecord,
  now: Date,
): Promise<ModelReportData> {
  const missing: string[] = [];
  const { metadata } = record;
  const evaluation = await part(missing, 'evaluation', async () => {
    if (!metadata.evaluationUri) throw new Error('the registry records no evaluation');
    const document = await readDocument(store, metadata.evaluationUri, evaluationSchema);
    if (!document.curves) missing.push('ROC curve and score histogram: evaluated before Evaluate recorded curves');
    return {
      candidate: document.candidate as ModelMetrics,
      champion: document.champion
        ? { modelVersion: document.champion.modelVersion, metrics: document.champion.metrics as ModelMetrics }
        : null,
      roc: document.curves?.roc ?? null,
      scoreHistogram: document.curves?.scoreHistogram ?? null,
    };
  });
  const importance = await part(missing, 'feature importance', () => featureImportance(store, record));
  const drift = await part(missing, 'drift', () => driftRuns(store, sources, record.modelVersion, missing));
  const quality = await part(missing, 'quality', () => latestQuality(store, sources, record.modelVersion));
  const lineageKeys = [
    'trainingJobName',
    'datasetVersion',
    'extractRunId',
    'manifestUri',
    'policySha256',
    'kid',
    'agentVersion',
    'modelSha256',
    'trigger',
    'codeVersion',
  ];
  return {
    format: MODEL_REPORT_FORMAT,
    generatedAt: now.toISOString(),
    environment: sources.environment,
    model: {
      version: record.modelVersion,
      status: record.status,
      createdAt: record.createdAt,
      ...(record.deployedAt ? { deployedAt: record.deployedAt } : {}),
      ...(record.approver ? { approver: record.approver } : {}),
      ...(record.statusReasons?.length ? { statusReasons: record.statusReasons } : {}),
      lineage: Object.fromEntries(lineageKeys.flatMap((k) => (metadata[k] ? [[k, metadata[k]]] : []))),
    },
    evaluation,
    importance,
    drift,
    quality,
    missing,
  };
}

/** Runs `read`, naming `uri` in what it throws. */
async function named<T>(uri: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new Error(`${uri}: ${failure(error)}`, { cause: error });
  }
}

/** Splits per feature of the version's artifact (checked against the registered SHA-256), by its feature spec. */
async function featureImportance(store: ArtifactStore, record: ModelVersionRecord) {
  const { featureSpecUri, modelSha256 } = record.metadata;
  if (!featureSpecUri) throw new Error('the registry records no feature spec');
  const spec = await named(featureSpecUri, async () =>
    parseFeatureSpec(JSON.parse(Buffer.from(await store.get(featureSpecUri)).toString('utf8'))),
  );
  const ensemble = await named(record.modelDataUrl, async () =>
    readModel(await store.get(record.modelDataUrl), modelSha256 ? { sha256: modelSha256 } : {}),
  );
  const owner = columnFeatures(spec);
  if (owner.length !== ensemble.numFeature) {
    throw new Error(
      `${record.modelDataUrl} has ${ensemble.numFeature} columns, its feature spec ${featureSpecUri} ${owner.length}`,
    );
  }
  const splits = new Array<number>(spec.features.length).fill(0);
  splitCounts(ensemble).forEach((n, column) => (splits[owner[column]] += n));
  return spec.features
    .map((f, i) => ({ feature: f.name, splits: splits[i] }))
    .sort((a, b) => b.splits - a.splits || (a.feature < b.feature ? -1 : 1));
}

/**
 * The version's latest drift runs, oldest first, and the latest judged one (ranked by in the report); a report
 * that cannot be read or is of another version is left out and named in `missing`.
 */
async function driftRuns(store: ArtifactStore, sources: ModelReportSources, version: string, missing: string[]) {
  const prefix = s3Uri(sources.captureBucket, capture.versionDriftReportsPrefix(sources.dataset, version));
  const uris = (await store.list(prefix)).sort().slice(-DRIFT_HISTORY_RUNS);
  const history: DriftRun[] = [];
  let psiThreshold = 0;
  for (const uri of uris) {
    const report = await part(missing, 'drift run', async () => {
      const document = await readDocument(store, uri, driftSchema);
      if (document.modelVersion !== version) throw new Error(`${uri} is a report of ${document.modelVersion}`);
      return document;
    });
    if (!report) continue;
    psiThreshold = report.psiThreshold;
    history.push({
      at: report.window.to,
      records: report.records,
      judged: report.judged,
      maxPsi: report.maxPsi,
      features: report.features.map((f) => ({ name: f.name, psi: f.psi, drifted: f.status === 'drifted' })),
      scorePsi: report.score?.psi ?? null,
    });
  }
  if (history.length === 0) throw new Error('the drift job has not judged this version (never served, or no run yet)');
  return { psiThreshold, latest: history.findLast((r) => r.judged) ?? history.at(-1)!, history };
}

/** The version's cohorts in the latest quality report. */
async function latestQuality(store: ArtifactStore, sources: ModelReportSources, version: string) {
  const uris = (await store.list(s3Uri(sources.captureBucket, capture.qualityReportsPrefix(sources.dataset)))).sort();
  if (uris.length === 0) throw new Error('the quality job has not run yet');
  const uri = uris.at(-1)!;
  const report = await readDocument(store, uri, qualitySchema);
  const cohorts = report.cohorts.filter((c) => c.modelVersion === version) as CohortQuality[];
  if (cohorts.length === 0) throw new Error(`the latest quality report holds no prediction of ${version}`);
  return { at: report.at ?? null, cohorts };
}
