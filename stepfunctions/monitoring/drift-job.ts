/**
 * The drift job: every hour (in AWS a scheduled Lambda, locally `mlp monitor`), the captures of the champion's
 * last `windowHours` are merged and compared with the champion's baseline (monitoring/drift-report.ts). The
 * report is written beside the captures and returned with the metrics it publishes: PSI per feature and of the
 * score (dimensions Feature and ModelVersion), the drifted share, and MaxPsi for the whole scorer, which the
 * drift alarm watches. A window under `minRecords` publishes no PSI, so it can neither raise nor clear an alarm
 * (the alarm ignores missing data). A capture counted against other bins than the baseline's is set aside, named.
 */
import { capture, s3Uri } from '../../contracts/s3-layout';
import { CaptureError, parseCapture } from '../../lambdas/monitoring/capture';
import { binCount, type DriftBaseline, readDriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import { type DriftCounts, DriftCountsError, mergeCounts } from '../../lambdas/monitoring/drift-counts';
import { type DriftReport, driftReport } from '../../lambdas/monitoring/drift-report';
import type { ArtifactStore } from '../artifact-store';
import type { ChampionPointer } from '../champion';

/** What the job judges, and where. */
export interface DriftJobSettings {
  readonly dataset: string;
  /** The capture bucket. */
  readonly captureBucket: string;
  readonly psiThreshold: number;
  readonly minRecords: number;
  readonly windowHours: number;
}

/** One metric the job publishes (monitoring/drift-metrics names them). */
export interface DriftMetric {
  readonly name: 'FeaturePsi' | 'ScorePsi' | 'DriftedShare' | 'MaxPsi' | 'WindowRecords';
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** What one run found. */
export interface DriftJobResult {
  readonly modelVersion: string | null;
  readonly window: { readonly from: string; readonly to: string };
  /** Capture documents read, and those skipped as unreadable (named in `problems`). */
  readonly captures: number;
  readonly unreadable: number;
  readonly problems: readonly string[];
  readonly report: DriftReport | null;
  readonly reportUri: string | null;
  readonly metrics: readonly DriftMetric[];
  /** Why nothing was judged (no champion, no baseline), else null. */
  readonly skipped: string | null;
}

const HOUR_MS = 3_600_000;

/** Runs the job for the champion `pointer` (undefined before the first promotion) at `now`. */
export async function runDriftJob(
  store: ArtifactStore,
  settings: DriftJobSettings,
  pointer: ChampionPointer | undefined,
  now: Date,
): Promise<DriftJobResult> {
  // The window is the last windowHours up to now; captures are listed by the hours it touches.
  const from = new Date(now.getTime() - settings.windowHours * HOUR_MS);
  const firstHour = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  const window = { from: from.toISOString(), to: now.toISOString() };
  const nothing = (modelVersion: string | null, skipped: string): DriftJobResult => ({
    modelVersion,
    window,
    captures: 0,
    unreadable: 0,
    problems: [],
    report: null,
    reportUri: null,
    metrics: [],
    skipped,
  });
  if (!pointer) return nothing(null, 'no model is deployed yet');
  const version = pointer.modelVersion;
  if (!pointer.baselineUri) return nothing(version, `${version} was deployed without a drift baseline`);
  const baseline = readDriftBaseline(await store.get(pointer.baselineUri), pointer.baselineUri);

  const datasetUri = s3Uri(settings.captureBucket, capture.datasetPrefix(settings.dataset));
  const documents: DriftCounts[] = [];
  const problems: string[] = [];
  let read = 0;
  for (let hour = firstHour; hour <= now.getTime(); hour += HOUR_MS) {
    for (const uri of (await store.list(`${datasetUri}${capture.hourPrefix(version, new Date(hour))}`)).sort()) {
      read++;
      try {
        const document = parseCapture(Buffer.from(await store.get(uri)).toString('utf8'), uri);
        const at = Date.parse(document.capturedAt);
        if (document.modelVersion !== version || at < from.getTime() || at > now.getTime()) continue;
        if (!document.counts) continue;
        const mismatch = mismatchedFeature(baseline, document.counts);
        if (mismatch) problems.push(`${uri} counts ${mismatch} against other bins than the baseline's: set aside`);
        else documents.push(document.counts);
      } catch (error) {
        if (!(error instanceof CaptureError || error instanceof DriftCountsError)) throw error;
        problems.push(error.message);
      }
    }
  }
  let report: DriftReport;
  try {
    report = driftReport(baseline, mergeCounts(version, documents), settings);
  } catch (error) {
    if (!(error instanceof DriftCountsError)) throw error;
    return { ...nothing(version, error.message), captures: read, unreadable: problems.length, problems };
  }
  const reportUri = s3Uri(settings.captureBucket, capture.driftReportKey(settings.dataset, version, now));
  await store.put(reportUri, `${JSON.stringify({ ...report, window, problems }, null, 2)}\n`);
  return {
    modelVersion: version,
    window,
    captures: read,
    unreadable: problems.length,
    problems: problems.slice(0, 20),
    report,
    reportUri,
    metrics: driftMetrics(report),
    skipped: null,
  };
}

/** A feature (or the score) whose counts do not have the baseline's bins, if any. */
function mismatchedFeature(baseline: DriftBaseline, counts: DriftCounts): string | undefined {
  for (const feature of baseline.features) {
    const values = counts.features[feature.name];
    if (values && values.length !== binCount(feature)) return `feature ${feature.name}`;
  }
  if (baseline.score && counts.score && counts.score.length !== binCount(baseline.score)) return 'the score';
  return undefined;
}

/** The metrics of a report: nothing but the record count for a window that was not judged. */
export function driftMetrics(report: DriftReport): DriftMetric[] {
  const version = { ModelVersion: report.modelVersion };
  const metrics: DriftMetric[] = [{ name: 'WindowRecords', value: report.records, dimensions: version }];
  if (!report.judged) return metrics;
  for (const feature of report.features) {
    if (feature.psi === null) continue;
    metrics.push({ name: 'FeaturePsi', value: feature.psi, dimensions: { ...version, Feature: feature.name } });
  }
  if (report.score && report.score.psi !== null)
    metrics.push({ name: 'ScorePsi', value: report.score.psi, dimensions: version });
  if (report.driftedShare !== null) {
    metrics.push({ name: 'DriftedShare', value: report.driftedShare, dimensions: version });
  }
  if (report.maxPsi !== null) metrics.push({ name: 'MaxPsi', value: report.maxPsi, dimensions: {} });
  return metrics;
}
