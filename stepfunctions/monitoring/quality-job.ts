/**
 * The quality job: reads the captured predictions of every model version of the last `days` (days of capture),
 * the realised outcomes (the latest row version of each key whose outcome is known) and reports estimated and
 * realised quality per version and cohort month (quality.ts). Outcomes come from an agent dataset of their own
 * (config `retraining.outcomes`), whose landed extracts the job merges into that dataset's curated table first,
 * as Prepare does for the training dataset (checksums, schema, gaps); or, without one, from the label column of
 * the training dataset's curated table. The report goes beside the drift reports; its metrics are EstimatedAuc
 * and RealisedAuc (dimensions ModelVersion and Cohort).
 */
import { join } from 'node:path';
import { capture, landing, s3Uri } from '../../contracts/s3-layout';
import { CaptureError, parseCapture } from '../../lambdas/monitoring/capture';
import type { ArtifactStore } from '../artifact-store';
import { CuratedTables, type TableLog } from '../curated/curated-table';
import { type Engine, quoteName, withEngine } from '../curated/duckdb-engine';
import { parquetSource } from '../curated/training-set';
import { snapshotSql } from '../curated/training-set-sql';
import { type LoadedManifest, loadManifest } from '../extract-manifest';
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
  const labels = await knownLabels(store, settings, outcomeProblems);
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
 * Key → label of every key whose latest row version in the outcomes table has a known 0/1 label. What keeps
 * outcomes from counting is told in `problems`: none landed yet, an extract that cannot be merged (damaged, of
 * another schema or pseudonym domain; the table read is then the one merged so far), a table under another key
 * id than the training data's (its keys cannot join), labels other than 0 and 1.
 */
async function knownLabels(store: ArtifactStore, settings: QualityJobSettings, problems: string[]) {
  const source = settings.outcomes;
  const tables = new CuratedTables(store, {
    dataset: source.dataset,
    keyColumn: source.keyColumn,
    buckets: { ...source.buckets, models: '' },
  });
  const labels = new Map<string, number>();
  await withEngine(async (engine) => {
    if (source.mergeLanded) await mergeLanded(store, tables, source, engine, problems);
    const log = await tables.current();
    if (!log || log.entries.length === 0) return;
    if (source.mergeLanded) {
      const joins = await joinsTrainingTable(store, settings, log);
      if (joins !== true) {
        problems.push(`${joins}: their keys do not join, no outcomes read`);
        return;
      }
    }
    const missing = [source.keyColumn, source.label].filter((c) => !(c in log.schema));
    if (missing.length > 0) {
      problems.push(`the curated ${source.dataset} table has no column ${missing.join(' or ')}: no outcomes read`);
      return;
    }
    // Into the directory merge downloads to: the files it fetched are not fetched again.
    const files = await tables.download(log, log.entries.length, join(engine.scratch, 'table'));
    let other = 0;
    for (const row of await engine.rows(labelsSql(log, source, files))) {
      const value = Number(row.l);
      if (value === 0 || value === 1) labels.set(String(row.k), value);
      else other++;
    }
    if (other > 0) problems.push(`${other} outcome(s) of ${source.label} are neither 0 nor 1: left out`);
  });
  return labels;
}

/**
 * Whether the outcomes table's keys can join the training table's: the same key id, and the key pseudonymised
 * in the same domain (where both tables recorded one). True, or what differs.
 */
async function joinsTrainingTable(store: ArtifactStore, settings: QualityJobSettings, log: TableLog) {
  const { outcomes } = settings;
  const tables = new CuratedTables(store, {
    dataset: settings.dataset,
    keyColumn: outcomes.keyColumn,
    buckets: { ...outcomes.buckets, models: '' },
  });
  const kid = await tables.currentKid();
  if (kid === undefined) return true;
  if (kid !== log.kid) {
    return (
      `the ${outcomes.dataset} table is pseudonymised under key id ${log.kid}, the ${settings.dataset} table under ` +
      `${kid} (re-extract ${outcomes.dataset} under ${kid})`
    );
  }
  const training = await tables.log(kid);
  const ours = log.pseudonyms?.[outcomes.keyColumn];
  const theirs = training?.pseudonyms?.[training.keyColumn];
  if (ours !== undefined && theirs !== undefined && ours !== theirs) {
    return (
      `the ${outcomes.dataset} table pseudonymises ${outcomes.keyColumn} as ${ours}, the ${settings.dataset} table ` +
      `its key as ${theirs} (declare one linkAs on both keys, under a new key id)`
    );
  }
  return true;
}

/** The latest version of every key as of the last merged manifest (as a training set's snapshot takes it). */
function labelsSql(log: TableLog, source: OutcomeSource, files: readonly string[]): string {
  const snapshot = snapshotSql(
    parquetSource(files),
    [source.keyColumn, source.label],
    { keyColumn: source.keyColumn, watermarkColumn: log.watermarkColumn },
    log.entries.length,
  );
  return (
    `SELECT ${quoteName(source.keyColumn)} AS k, ${quoteName(source.label)} AS l FROM (${snapshot}) AS s ` +
    `WHERE ${quoteName(source.label)} IS NOT NULL`
  );
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

/** Merges the outcomes dataset's latest landed extract, and whatever landed before it that the table lacks. */
async function mergeLanded(
  store: ArtifactStore,
  tables: CuratedTables,
  source: OutcomeSource,
  engine: Engine,
  problems: string[],
): Promise<void> {
  const bucket = s3Uri(source.buckets.landing, '');
  const prefix = landing.datasetPrefix(source.dataset);
  const manifests = (await store.list(s3Uri(source.buckets.landing, prefix)))
    .map((uri) => uri.slice(bucket.length))
    .filter((key) => landing.isManifestKey(key, source.dataset))
    .sort();
  const latest = manifests.at(-1);
  if (latest === undefined) {
    problems.push(`no outcomes extract under ${prefix} yet: realised quality waits for the agent's ${source.dataset}`);
    return;
  }
  try {
    const loaded = await loadManifest(store, s3Uri(source.buckets.landing, latest));
    checkOutcomes(loaded, source);
    for (const earlier of await tables.missingBefore(loaded, latest)) {
      checkOutcomes(earlier, source);
      await tables.merge(engine, earlier, earlier.uri.slice(bucket.length));
    }
    await tables.merge(engine, loaded, latest);
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    problems.push(`outcomes extract ${latest} not merged: ${error.message.slice(0, 300)}`);
  }
}
