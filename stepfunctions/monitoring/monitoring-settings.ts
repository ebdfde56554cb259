/**
 * Settings of the monitoring jobs, as CDK passes them (MONITORING_SETTINGS, JSON) and local mode builds them
 * from the environment config.
 */
import * as z from 'zod/mini';
import { describeIssues } from '../../contracts/describe-issues';
import { models, s3Uri } from '../../contracts/s3-layout';
import type { EnvironmentConfig } from '../../config';

const schema = z.strictObject({
  dataset: z.string().check(z.minLength(1)),
  captureBucket: z.string().check(z.minLength(3)),
  modelsBucket: z.string().check(z.minLength(3)),
  metricsNamespace: z.string().check(z.minLength(1)),
  psiThreshold: z.number().check(z.gt(0)),
  minRecords: z.number().check(z.int(), z.gte(1)),
  windowHours: z.number().check(z.int(), z.gte(1)),
  /** The curated bucket, the table's key and label columns (the quality job reads outcomes there). */
  curatedBucket: z.string().check(z.minLength(3)),
  keyColumn: z.string().check(z.minLength(1)),
  label: z.string().check(z.minLength(1)),
});

/** Days of captured predictions the quality job reads: outcomes (a 12-month default flag) arrive a year later. */
export const QUALITY_DAYS = 400;
/** Fewest labelled predictions a cohort needs before its realised quality is reported. */
export const QUALITY_MIN_LABELLED = 200;

/** Validated monitoring settings. */
export type MonitoringSettings = z.infer<typeof schema>;

/** The settings of an environment, for its buckets. */
export function monitoringSettings(
  config: Pick<EnvironmentConfig, 'name' | 'retraining' | 'alarms'>,
  buckets: { readonly capture: string; readonly models: string; readonly curated: string },
  metricsNamespace: string,
): MonitoringSettings {
  return {
    dataset: config.retraining.dataset,
    captureBucket: buckets.capture,
    modelsBucket: buckets.models,
    metricsNamespace,
    psiThreshold: config.alarms.driftPsi,
    minRecords: config.alarms.driftMinRecords,
    windowHours: config.alarms.driftWindowHours,
    curatedBucket: buckets.curated,
    keyColumn: config.retraining.keyColumn,
    label: config.retraining.label,
  };
}

/** Where the champion pointer of the settings' dataset is. */
export function monitoredPointerUri(settings: MonitoringSettings): string {
  return s3Uri(settings.modelsBucket, models.championPointerKey(settings.dataset));
}

/** Parses MONITORING_SETTINGS; errors name the field. */
export function parseMonitoringSettings(text: string | undefined): MonitoringSettings {
  if (!text) throw new Error('MONITORING_SETTINGS is not set');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('MONITORING_SETTINGS is not JSON');
  }
  const result = schema.safeParse(document, { reportInput: true });
  if (!result.success) {
    throw new Error(`MONITORING_SETTINGS: ${describeIssues(result.error.issues).join('; ')}`);
  }
  return result.data;
}
