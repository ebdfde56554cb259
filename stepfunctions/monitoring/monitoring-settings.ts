/**
 * Settings of the monitoring jobs, as CDK passes them (MONITORING_SETTINGS, JSON) and local mode builds them
 * from the environment config.
 */
import * as z from 'zod/mini';
import { describeIssues } from '../../contracts/describe-issues';
import { models, s3Uri } from '../../contracts/s3-layout';
import type { EnvironmentConfig } from '../../config';
import type { OutcomeSource } from './quality-job';

const schema = z.strictObject({
  dataset: z.string().check(z.minLength(1)),
  captureBucket: z.string().check(z.minLength(3)),
  modelsBucket: z.string().check(z.minLength(3)),
  metricsNamespace: z.string().check(z.minLength(1)),
  psiThreshold: z.number().check(z.gt(0)),
  minRecords: z.number().check(z.int(), z.gte(1)),
  windowHours: z.number().check(z.int(), z.gte(1)),
  /**
   * Where the quality job reads outcomes: the curated table of `outcomesDataset` (the training dataset's own, or
   * an outcomes dataset whose extracts in the landing bucket the job merges itself), its key and label columns.
   */
  curatedBucket: z.string().check(z.minLength(3)),
  landingBucket: z.string().check(z.minLength(3)),
  outcomesDataset: z.string().check(z.minLength(1)),
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
  buckets: { readonly capture: string; readonly models: string; readonly curated: string; readonly landing: string },
  metricsNamespace: string,
): MonitoringSettings {
  const { outcomes } = config.retraining;
  return {
    dataset: config.retraining.dataset,
    captureBucket: buckets.capture,
    modelsBucket: buckets.models,
    metricsNamespace,
    psiThreshold: config.alarms.driftPsi,
    minRecords: config.alarms.driftMinRecords,
    windowHours: config.alarms.driftWindowHours,
    curatedBucket: buckets.curated,
    landingBucket: buckets.landing,
    outcomesDataset: outcomes?.dataset ?? config.retraining.dataset,
    keyColumn: config.retraining.keyColumn,
    label: outcomes?.label ?? config.retraining.label,
  };
}

/** Where the quality job of `settings` reads outcomes. */
export function outcomeSourceOf(settings: MonitoringSettings): OutcomeSource {
  return {
    dataset: settings.outcomesDataset,
    keyColumn: settings.keyColumn,
    label: settings.label,
    buckets: { landing: settings.landingBucket, curated: settings.curatedBucket },
    mergeLanded: settings.outcomesDataset !== settings.dataset,
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
