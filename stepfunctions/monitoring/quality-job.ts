/**
 * The quality job: reads the captured predictions of every model version of the last `days` (days of capture),
 * the labels the curated table holds (the latest row version of each key whose outcome is known), and reports
 * estimated and realised quality per version and cohort month (quality.ts). The report goes beside the drift
 * reports; its metrics are EstimatedAuc and RealisedAuc (dimensions ModelVersion and Cohort).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture, s3Uri } from '../../contracts/s3-layout';
import { CaptureError, parseCapture } from '../../lambdas/monitoring/capture';
import type { ArtifactStore } from '../artifact-store';
import { CuratedTables } from '../curated/curated-table';
import { quoteName, withEngine } from '../curated/duckdb-engine';
import { parquetSource } from '../curated/training-set';
import { snapshotSql } from '../curated/training-set-sql';
import type { RetrainingSettings } from '../retraining-settings';
import { type QualityReport, qualityReport, type ScoredPrediction } from './quality';

/** What the quality job reads, and how it judges. */
export interface QualityJobSettings {
  readonly retraining: Pick<RetrainingSettings, 'dataset' | 'buckets' | 'keyColumn' | 'label'>;
  readonly captureBucket: string;
  /** Days of captures read, back from today (UTC). */
  readonly days: number;
  /** Fewest labelled predictions a cohort needs for a realised figure. */
  readonly minLabelled: number;
}

/** A quality metric the job publishes. */
export interface QualityMetric {
  readonly name: 'EstimatedAuc' | 'RealisedAuc' | 'ChampionEstimatedAuc';
  readonly value: number;
  /** ModelVersion and Cohort; none for ChampionEstimatedAuc, which the estimated-AUC alarm watches. */
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
  const { dataset } = settings.retraining;
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
  const labels = await knownLabels(store, settings.retraining);
  const report = qualityReport(predictions, labels, { minLabelled: settings.minLabelled });
  const reportUri = s3Uri(settings.captureBucket, capture.qualityReportKey(dataset, now));
  const document = { at: now.toISOString(), ...report, problems: problems.slice(0, 20) };
  await store.put(reportUri, `${JSON.stringify(document, null, 2)}\n`);
  const metrics: QualityMetric[] = [];
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

/** Key → label of every key whose latest row version in the current curated table has a known label. */
async function knownLabels(
  store: ArtifactStore,
  settings: QualityJobSettings['retraining'],
): Promise<Map<string, number>> {
  const tables = new CuratedTables(store, settings);
  const log = await tables.current();
  const labels = new Map<string, number>();
  if (!log || log.entries.length === 0) return labels;
  const dir = mkdtempSync(join(tmpdir(), 'mlp-quality-'));
  try {
    const files = await tables.download(log, log.entries.length, dir);
    // The latest version of every key as of the last merged manifest, as a training set's snapshot takes it.
    const snapshot = snapshotSql(
      parquetSource(files),
      [settings.keyColumn, settings.label],
      { keyColumn: settings.keyColumn, watermarkColumn: log.watermarkColumn },
      log.entries.length,
    );
    const rows = await withEngine((engine) =>
      engine.rows(
        `SELECT ${quoteName(settings.keyColumn)} AS k, ${quoteName(settings.label)} AS l FROM (${snapshot}) AS s ` +
          `WHERE ${quoteName(settings.label)} IS NOT NULL`,
      ),
    );
    for (const row of rows) {
      const value = Number(row.l);
      if (value === 0 || value === 1) labels.set(String(row.k), value);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return labels;
}
