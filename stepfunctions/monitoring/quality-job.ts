/**
 * The quality job: reads the captured predictions of every model version of the last `days` (days of capture),
 * the realised outcomes (the latest row version of each key whose outcome is known) and reports estimated and
 * realised quality per version and cohort month (quality.ts). Outcomes come from an agent dataset of their own
 * (config `retraining.outcomes`), whose landed extracts the job merges into that dataset's curated table first,
 * as Prepare does for the training dataset (checksums, schema, gaps); or, without one, from the label column of
 * the training dataset's curated table (either is read as a side table: ../curated/side-table.ts). The report
 * goes beside the drift reports; its metrics are EstimatedAuc and RealisedAuc (dimensions ModelVersion and Cohort).
 */
import { capture, s3Uri } from '../../contracts/s3-layout';
import { CaptureError, parseCapture } from '../../lambdas/monitoring/capture';
import type { ArtifactStore } from '../artifact-store';
import { quoteName } from '../curated/duckdb-engine';
import { readSideTable, type SideTable } from '../curated/side-table';
import type { LoadedManifest } from '../extract-manifest';
import { StepError } from '../step-error';
import { type QualityReport, qualityReport, type ScoredPrediction } from './quality';

/** Where realised outcomes are: a dataset's curated table, its key and label columns. */
export interface OutcomeSource {
  readonly dataset: string;
  readonly keyColumn: string;
  readonly label: string;
  readonly buckets: { readonly landing: string; readonly curated: string };
  /**
   * True for an outcomes dataset of its own: nothing else merges its extracts, so the job merges what landed
   * before reading. False for the training dataset, whose table retraining merges.
   */
  readonly mergeLanded: boolean;
}

/** What the quality job reads, and how it judges. */
export interface QualityJobSettings {
  /** The model's dataset: its captures are read. */
  readonly dataset: string;
  readonly captureBucket: string;
  readonly outcomes: OutcomeSource;
  /** Days of captures read, back from today (UTC). */
  readonly days: number;
  /** Fewest labelled predictions a cohort needs for a realised figure. */
  readonly minLabelled: number;
}

/** A quality metric the job publishes. */
export interface QualityMetric {
  readonly name: 'EstimatedAuc' | 'RealisedAuc' | 'ChampionEstimatedAuc' | 'OutcomeProblems';
  readonly value: number;
  /**
   * ModelVersion and Cohort; none for ChampionEstimatedAuc and OutcomeProblems (what keeps outcomes from counting:
   * none landed, an extract not merged, keys that cannot join), which alarms watch.
   */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** What one run found. */
export interface QualityJobResult {
  readonly report: QualityReport;
  readonly reportUri: string;
  readonly captures: number;
  readonly problems: readonly string[];
  readonly metrics: readonly QualityMetric[];
}

const DAY_MS = 86_400_000;

/** Runs the job at `now`. */
export async function runQualityJob(
  store: ArtifactStore,
  settings: QualityJobSettings,
  now: Date,
  /** The served version: its latest cohort of at least `minLabelled` predictions is published alone too. */
  championVersion?: string,
): Promise<QualityJobResult> {
  const { dataset } = settings;
  const predictions: ScoredPrediction[] = [];
  const problems: string[] = [];
  const since = now.getTime() - settings.days * DAY_MS;
  const uris = (await store.list(s3Uri(settings.captureBucket, capture.datasetPrefix(dataset)))).sort();
  let captures = 0;
  for (const uri of uris) {
    // <dataset>/<version>/<yyyy-mm-dd>/…: days outside the window are not read.
    const day = /\/(\d{4}-\d{2}-\d{2})\/\d{2}\/[^/]+\.json$/.exec(uri)?.[1];
    if (!day || Date.parse(`${day}T23:59:59.999Z`) < since) continue;
    captures++;
    try {
      const document = parseCapture(Buffer.from(await store.get(uri)).toString('utf8'), uri);
      for (const p of document.predictions) {
        if (typeof p.score !== 'number') continue; // multi-class: no binary quality
        predictions.push({
          modelVersion: document.modelVersion,
          capturedAt: document.capturedAt,
          score: p.score,
          ...(p.key ? { key: p.key } : {}),
        });
      }
    } catch (error) {
      if (!(error instanceof CaptureError)) throw error;
      problems.push(error.message);
    }
  }
  const outcomeProblems: string[] = [];
  const capturedKeys = new Set(predictions.flatMap((p) => (p.key === undefined ? [] : [p.key])));
  const labels = await knownLabels(store, settings, capturedKeys, outcomeProblems);
  // What keeps outcomes from counting comes first: one of them freezes every realised figure.
  problems.unshift(...outcomeProblems);
  const report = qualityReport(predictions, labels, { minLabelled: settings.minLabelled });
  const reportUri = s3Uri(settings.captureBucket, capture.qualityReportKey(dataset, now));
  const document = { at: now.toISOString(), ...report, problems: problems.slice(0, 20) };
  await store.put(reportUri, `${JSON.stringify(document, null, 2)}\n`);
  // Published on every run, 0 included, so that its alarm tells a run with problems from one that did not run.
  const metrics: QualityMetric[] = [{ name: 'OutcomeProblems', value: outcomeProblems.length, dimensions: {} }];
  for (const c of report.cohorts) {
    const dimensions = { ModelVersion: c.modelVersion, Cohort: c.cohort };
    if (c.estimatedAuc !== null) metrics.push({ name: 'EstimatedAuc', value: c.estimatedAuc, dimensions });
    if (c.realised) metrics.push({ name: 'RealisedAuc', value: c.realised.auc, dimensions });
  }
  const latest = report.cohorts
    .filter((c) => c.modelVersion === championVersion && c.predictions >= settings.minLabelled)
    .pop();
  if (latest && latest.estimatedAuc !== null) {
    metrics.push({ name: 'ChampionEstimatedAuc', value: latest.estimatedAuc, dimensions: {} });
  }
  return { report, reportUri, captures, problems: problems.slice(0, 20), metrics };
}

/**
 * Key → label of every captured key whose latest row version in the outcomes table has a known 0/1 label (the
 * table's other keys are not read). What keeps
 * outcomes from counting is told in `problems`: none landed yet, an extract that cannot be merged (damaged, of
 * another schema or pseudonym domain; the table read is then the one merged so far), a table under another key
 * id than the training data's (its keys cannot join), labels other than 0 and 1.
 */
async function knownLabels(
  store: ArtifactStore,
  settings: QualityJobSettings,
  keys: ReadonlySet<string>,
  problems: string[],
) {
  const source = settings.outcomes;
  const table: SideTable = {
    dataset: source.dataset,
    keyColumn: source.keyColumn,
    trainingDataset: settings.dataset,
    buckets: source.buckets,
    mergeLanded: source.mergeLanded,
    kind: 'outcomes',
    awaitedBy: 'realised quality',
    check: (loaded) => checkOutcomes(loaded, source),
  };
  const labels = new Map<string, number>();
  const rows = await readSideTable(store, table, [source.label], problems, {
    where: `${quoteName(source.label)} IS NOT NULL`,
    keys,
  });
  let other = 0;
  for (const row of rows ?? []) {
    const value = Number(row[source.label]);
    if (value === 0 || value === 1) labels.set(String(row.k), value);
    else other++;
  }
  if (other > 0) problems.push(`${other} outcome(s) of ${source.label} are neither 0 nor 1: left out`);
  return labels;
}

/** An outcomes extract must be of the dataset and carry the key and a numeric label. */
function checkOutcomes({ manifest }: LoadedManifest, source: OutcomeSource): void {
  if (manifest.dataset !== source.dataset) {
    throw new StepError('ManifestInvalid', `run ${manifest.runId} describes dataset ${manifest.dataset}`);
  }
  const problems = [
    ...(source.keyColumn in manifest.schema ? [] : [`${source.keyColumn} is missing`]),
    ...(!(source.label in manifest.schema)
      ? [`${source.label} is missing`]
      : ['integer', 'number'].includes(manifest.schema[source.label])
        ? []
        : [`${source.label} (label) is not numeric`]),
  ];
  if (problems.length > 0) {
    throw new StepError('SchemaMismatch', `run ${manifest.runId} is no outcomes extract: ${problems.join('; ')}`);
  }
}
