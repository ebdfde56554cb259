/**
 * Lambda entry point of the drift job, run hourly by an EventBridge rule. Its metrics go out as EMF through
 * Powertools: each with its own dimensions (Feature and ModelVersion, ModelVersion, or none for MaxPsi, which the
 * drift alarm watches), all with the `service` dimension. Environment: MONITORING_SETTINGS (JSON: dataset,
 * capture bucket, models bucket, thresholds, window), POWERTOOLS_*.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { MONITORING_SERVICE } from '../../contracts/monitoring-metrics';
import { S3ArtifactStore } from '../artifact-store';
import { type DriftJobResult, type DriftMetric, runDriftJob } from './drift-job';
import { type QualityJobResult, type QualityMetric, runQualityJob } from './quality-job';
import { readChampionAt } from '../champion';
import {
  monitoredPointerUri,
  outcomeSourceOf,
  parseMonitoringSettings,
  QUALITY_DAYS,
  QUALITY_MIN_LABELLED,
} from './monitoring-settings';

const logger = new Logger({ serviceName: MONITORING_SERVICE });

/**
 * Publishes a job's metrics, one EMF document per metric so each carries its own dimensions (and the instance's
 * own output: the local monitor's goes to a file).
 */
export function publishDriftMetrics(metrics: Metrics, published: readonly (DriftMetric | QualityMetric)[]): void {
  for (const metric of published) {
    if (Object.keys(metric.dimensions).length > 0) metrics.addDimensions({ ...metric.dimensions });
    metrics.addMetric(
      metric.name,
      metric.name === 'WindowRecords' ? MetricUnit.Count : MetricUnit.NoUnit,
      metric.value,
    );
    metrics.publishStoredMetrics();
  }
}

/** The scheduled quality job (daily): estimated and realised AUC per version and cohort month. */
export async function qualityJob(): Promise<Omit<QualityJobResult, 'report'> & { cohorts: number }> {
  const settings = parseMonitoringSettings(process.env.MONITORING_SETTINGS);
  const metrics = new Metrics({ namespace: settings.metricsNamespace, serviceName: MONITORING_SERVICE });
  const store = new S3ArtifactStore();
  const pointer = await readChampionAt(store, monitoredPointerUri(settings));
  const result = await runQualityJob(
    store,
    {
      dataset: settings.dataset,
      outcomes: outcomeSourceOf(settings),
      captureBucket: settings.captureBucket,
      days: QUALITY_DAYS,
      minLabelled: QUALITY_MIN_LABELLED,
    },
    new Date(),
    pointer?.modelVersion,
  );
  publishDriftMetrics(metrics, result.metrics);
  const { report, ...summary } = result;
  logger.info('quality job done', { captures: summary.captures, cohorts: report.cohorts.length });
  if (summary.problems.length > 0) logger.warn('quality job problems', { problems: summary.problems });
  return { ...summary, cohorts: report.cohorts.length };
}

/** The scheduled drift job. */
export async function driftJob(): Promise<Omit<DriftJobResult, 'report'>> {
  const settings = parseMonitoringSettings(process.env.MONITORING_SETTINGS);
  const metrics = new Metrics({ namespace: settings.metricsNamespace, serviceName: MONITORING_SERVICE });
  const store = new S3ArtifactStore();
  const pointer = await readChampionAt(store, monitoredPointerUri(settings));
  const result = await runDriftJob(store, settings, pointer, new Date());
  publishDriftMetrics(metrics, result.metrics);
  const { report, ...summary } = result;
  logger.info('drift job done', {
    modelVersion: summary.modelVersion,
    captures: summary.captures,
    unreadable: summary.unreadable,
    skipped: summary.skipped,
    records: report?.records ?? 0,
    drifted: report?.drifted ?? [],
  });
  return summary;
}
