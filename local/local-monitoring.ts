/**
 * Local mode's monitoring: the drift and quality jobs (stepfunctions/monitoring/) over an environment's local
 * capture bucket and curated table, their metrics as EMF lines in `$MLP_HOME/logs/<env>/monitoring.log`, and the drift alarm's
 * local twin: each run is one period, and like `mlp-<env>-drift-psi` it goes to ALARM when MaxPsi is at or above
 * `driftPsi` in 2 of the last 3 judged periods (a run without a judged window is ignored, as missing data is). Its state is
 * `serving/<env>/drift-alarm.json`; entering ALARM is written to the notifications log, as SNS would mail it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../config';
import { driftAlarmName, MONITORING_SERVICE } from '../contracts/monitoring-metrics';
import { scorerMetricsNamespace } from '../contracts/scorer-metrics';
import { readChampion } from '../stepfunctions/champion';
import { type DriftJobResult, runDriftJob } from '../stepfunctions/monitoring/drift-job';
import { publishDriftMetrics } from '../stepfunctions/monitoring/monitoring-handlers';
import {
  monitoringSettings,
  outcomeSourceOf,
  QUALITY_DAYS,
  QUALITY_MIN_LABELLED,
} from '../stepfunctions/monitoring/monitoring-settings';
import { type QualityJobResult, runQualityJob } from '../stepfunctions/monitoring/quality-job';
import { LocalArtifactStore } from './local-artifact-store';
import { localCaptureBucket, localLayout, localSettings } from './local-home';
import { powertoolsToFile } from './lambda-log-file';

/** Periods the alarm looks back over, and how many of them must breach. */
const EVALUATION_PERIODS = 3;
const DATAPOINTS_TO_ALARM = 2;

/** The local drift alarm's state. */
export interface LocalDriftAlarm {
  readonly name: string;
  readonly state: 'OK' | 'ALARM';
  /** MaxPsi of the last periods, oldest first (null: nothing was judged). */
  readonly periods: readonly (number | null)[];
  readonly threshold: number;
  /** True when this run moved the alarm into ALARM. */
  readonly entered: boolean;
}

/** One run of the local monitor. */
export interface LocalMonitorResult {
  readonly drift: DriftJobResult;
  readonly quality: QualityJobResult;
  readonly alarm: LocalDriftAlarm;
}

/** Runs the drift job once for an environment's local twin and advances its drift alarm. */
export async function runLocalMonitor(options: {
  readonly config: EnvironmentConfig;
  readonly home: string;
  readonly now?: Date;
}): Promise<LocalMonitorResult> {
  const { config, home } = options;
  const now = options.now ?? new Date();
  const layout = localLayout(home, config.name);
  const store = new LocalArtifactStore(layout.objects);
  const retraining = localSettings(config);
  const namespace = scorerMetricsNamespace(config.name);
  const settings = monitoringSettings(
    config,
    {
      capture: localCaptureBucket(config.name),
      models: retraining.buckets.models,
      curated: retraining.buckets.curated,
      landing: retraining.buckets.landing,
    },
    namespace,
  );
  const champion = await readChampion(store, retraining);
  const drift = await runDriftJob(store, settings, champion, now);
  const quality = await runQualityJob(
    store,
    {
      dataset: settings.dataset,
      captureBucket: settings.captureBucket,
      outcomes: outcomeSourceOf(settings),
      days: QUALITY_DAYS,
      minLabelled: QUALITY_MIN_LABELLED,
    },
    now,
    champion?.modelVersion,
  );
  const observability = powertoolsToFile(join(layout.logs, 'monitoring.log'), MONITORING_SERVICE, namespace);
  try {
    publishDriftMetrics(observability.metrics, [...drift.metrics, ...quality.metrics]);
    observability.logger.info('drift job done', {
      modelVersion: drift.modelVersion,
      captures: drift.captures,
      skipped: drift.skipped,
      drifted: drift.report?.drifted ?? [],
    });
  } finally {
    await observability.close();
  }
  const alarm = advanceAlarm(layout.serving, config, drift);
  if (alarm.entered) {
    appendFileSync(
      join(layout.logs, 'notifications.log'),
      `${now.toISOString()} ${JSON.stringify({
        alarm: alarm.name,
        state: 'ALARM',
        reason: `MaxPsi at or above ${alarm.threshold} in ${DATAPOINTS_TO_ALARM} of the last ${EVALUATION_PERIODS} periods`,
        drifted: drift.report?.drifted ?? [],
        modelVersion: drift.modelVersion,
      })}\n`,
    );
  }
  return { drift, quality, alarm };
}

function advanceAlarm(servingDir: string, config: EnvironmentConfig, drift: DriftJobResult): LocalDriftAlarm {
  const path = join(servingDir, 'drift-alarm.json');
  const previous = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as Pick<LocalDriftAlarm, 'state' | 'periods'>)
    : { state: 'OK' as const, periods: [] };
  const threshold = config.alarms.driftPsi;
  // A run that judged nothing adds no period: like the AWS alarm, missing data is ignored.
  const judged = drift.report?.maxPsi ?? null;
  const periods = (judged === null ? [...previous.periods] : [...previous.periods, judged]).slice(-EVALUATION_PERIODS);
  const breaching = periods.filter((p) => p !== null && p >= threshold).length;
  const state = breaching >= DATAPOINTS_TO_ALARM ? 'ALARM' : 'OK';
  const alarm = {
    name: driftAlarmName(config.name),
    state,
    periods,
    threshold,
    entered: state === 'ALARM' && previous.state !== 'ALARM',
  } as const;
  mkdirSync(servingDir, { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ name: alarm.name, state, periods, threshold }, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return alarm;
}
