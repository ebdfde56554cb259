/**
 * Monitoring of the served model: the hourly drift job (a Lambda the schedule starts, which judges the
 * champion's captured traffic against its baseline and publishes PSI per feature and of the score), the drift
 * alarm — MaxPsi at or above `driftPsi` in 2 of 3 hourly periods, named `mlp-<env>-drift-psi` so that the
 * retraining trigger starts an execution when it fires — alarms on failed retraining executions and on the job
 * itself, all to the alerts topic, and the environment's dashboard. The daily quality job (DuckDB, reading the
 * curated table's outcomes) publishes estimated and realised AUC; the champion's estimated AUC below the
 * gate's floor (`promotion.minAuc`) raises `mlp-<env>-estimated-auc`.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config';
import { capture, curated, models } from '../../contracts/s3-layout';
import { NATIVE_MODULES } from '../lambda-bundling';
import { SCORER_METRIC, SCORER_SERVICE, scorerMetricsNamespace } from '../../contracts/scorer-metrics';
import { driftAlarmName, MONITORING_SERVICE } from '../../contracts/monitoring-metrics';
import { monitoringSettings } from '../../stepfunctions/monitoring/monitoring-settings';
import { PlatformFunction } from '../constructs/platform-function';
import { ObjectAccess } from '../retraining/object-access';

/** Properties of {@link MonitoringStack}. */
export interface MonitoringStackProps extends StackProps {
  readonly config: Pick<EnvironmentConfig, 'name' | 'retraining' | 'alarms' | 'logRetentionDays'>;
  readonly retainLogs: boolean;
  readonly vpc: ec2.IVpc;
  readonly buckets: {
    readonly capture: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
    readonly models: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
    readonly curated: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
  };
  readonly logsKey: kms.IKey;
  readonly alertTopic: sns.ITopic;
  /** The scorer function, for the dashboard's Lambda metrics. */
  readonly scorer: lambda.IFunction;
  readonly stateMachine: sfn.IStateMachine;
}

/** The drift job, its alarms and the dashboard. */
export class MonitoringStack extends Stack {
  readonly driftJob: PlatformFunction;
  readonly driftAlarm: cloudwatch.Alarm;
  readonly retrainingFailedAlarm: cloudwatch.Alarm;
  readonly qualityJob: PlatformFunction;
  readonly estimatedAucAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config } = props;
    const envName = config.name;
    const dataset = config.retraining.dataset;
    const namespace = scorerMetricsNamespace(envName);
    this.driftJob = new PlatformFunction(this, 'DriftJob', {
      entry: 'stepfunctions/monitoring/monitoring-handlers.ts',
      handler: 'driftJob',
      description: `mlp ${envName}: hourly drift job`,
      vpc: props.vpc,
      memoryMb: 1024,
      reservedConcurrency: 1,
      timeout: Duration.minutes(10),
      logRetentionDays: config.logRetentionDays,
      logsKey: props.logsKey,
      retainLogs: props.retainLogs,
      environment: {
        MONITORING_SETTINGS: this.toJsonString(
          monitoringSettings(
            config,
            {
              capture: props.buckets.capture.name,
              models: props.buckets.models.name,
              curated: props.buckets.curated.name,
            },
            namespace,
          ),
        ),
        POWERTOOLS_SERVICE_NAME: MONITORING_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: namespace,
      },
      compliance: {
        inlinePolicy:
          'CDK-generated policy of the drift job role, scoped to the captures and reports of its dataset and to ' +
          'the champion files it judges. Inline keeps it deleted with the role; no other principal uses it.',
        invocation:
          'Invoked asynchronously by its hourly EventBridge schedule only (two retries): a run that still fails is ' +
          'counted by the monitoring-job-errors alarm, and the next hour judges the same window again, so a ' +
          'dead-letter queue would hold no event worth replaying.',
      },
    });
    const fn = this.driftJob.function;
    const objects = new ObjectAccess({
      capture: { arnExport: props.buckets.capture.arnExport, key: props.buckets.capture.key },
      models: { arnExport: props.buckets.models.arnExport, key: props.buckets.models.key },
      curated: { arnExport: props.buckets.curated.arnExport, key: props.buckets.curated.key },
    });
    objects.read(fn, {
      sid: 'ReadCaptures',
      objects: [{ bucket: 'capture', prefix: capture.datasetPrefix(dataset) }],
      why: 'captures are keyed by model version, hour and request id.',
    });
    objects.list(fn, 'capture', `${capture.datasetPrefix(dataset)}*`, 'ListCaptures');
    objects.write(fn, {
      sid: 'WriteDriftReports',
      objects: [{ bucket: 'capture', prefix: capture.driftReportsPrefix(dataset) }],
      why: 'reports are keyed by model version and the end of their window.',
    });
    objects.read(fn, {
      sid: 'ReadChampion',
      objects: [{ bucket: 'models', prefix: models.championPrefix(dataset) }],
      why: 'the champion pointer names the served version, whose baseline is keyed by it.',
    });
    objects.list(fn, 'models', models.championPointerKey(dataset), 'ListChampionPointer');
    new events.Rule(this, 'DriftSchedule', {
      description: `mlp ${envName}: run the drift job every hour`,
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
    });

    this.qualityJob = new PlatformFunction(this, 'QualityJob', {
      entry: 'stepfunctions/monitoring/monitoring-handlers.ts',
      handler: 'qualityJob',
      description: `mlp ${envName}: daily quality job`,
      vpc: props.vpc,
      memoryMb: 4096,
      reservedConcurrency: 1,
      timeout: Duration.minutes(15),
      // DuckDB reads the curated table's files, downloaded to the function's ephemeral storage.
      nodeModules: [NATIVE_MODULES.duckdb],
      ephemeralStorageMb: 10_240,
      logRetentionDays: config.logRetentionDays,
      logsKey: props.logsKey,
      retainLogs: props.retainLogs,
      environment: {
        MONITORING_SETTINGS: this.toJsonString(
          monitoringSettings(
            config,
            {
              capture: props.buckets.capture.name,
              models: props.buckets.models.name,
              curated: props.buckets.curated.name,
            },
            namespace,
          ),
        ),
        POWERTOOLS_SERVICE_NAME: MONITORING_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: namespace,
      },
      compliance: {
        inlinePolicy:
          'CDK-generated policy of the quality job role, scoped to the captures and reports of its dataset, its ' +
          'curated table and the champion pointer. Inline keeps it deleted with the role; no other principal uses it.',
        invocation:
          'Invoked asynchronously by its daily EventBridge schedule only (two retries): a run that still fails is ' +
          'counted by the monitoring-job-errors alarm, and the next day reports the same cohorts again, so a ' +
          'dead-letter queue would hold no event worth replaying.',
      },
    });
    const quality = this.qualityJob.function;
    objects.read(quality, {
      sid: 'ReadCaptures',
      objects: [{ bucket: 'capture', prefix: capture.datasetPrefix(dataset) }],
      why: 'captures are keyed by model version, hour and request id.',
    });
    objects.list(quality, 'capture', `${capture.datasetPrefix(dataset)}*`, 'ListCaptures');
    objects.write(quality, {
      sid: 'WriteQualityReports',
      objects: [{ bucket: 'capture', prefix: capture.qualityReportsPrefix(dataset) }],
      why: 'reports are keyed by the time of their run.',
    });
    objects.read(quality, {
      sid: 'ReadCuratedTable',
      objects: [{ bucket: 'curated', prefix: curated.tablesPrefix(dataset) }],
      why: "the curated table's files are keyed by the pseudonymisation key id and the agent's run id.",
    });
    objects.list(quality, 'curated', `${curated.tablesPrefix(dataset)}*`, 'ListCuratedTable');
    objects.read(quality, {
      sid: 'ReadChampion',
      objects: [{ bucket: 'models', prefix: models.championPrefix(dataset) }],
      why: 'the champion pointer names the served version, whose estimated AUC the alarm watches.',
    });
    objects.list(quality, 'models', models.championPointerKey(dataset), 'ListChampionPointer');
    new events.Rule(this, 'QualitySchedule', {
      description: `mlp ${envName}: run the quality job every day`,
      schedule: events.Schedule.rate(Duration.days(1)),
      targets: [new targets.LambdaFunction(quality, { retryAttempts: 2 })],
    });
    this.estimatedAucAlarm = new cloudwatch.Alarm(this, 'EstimatedAuc', {
      alarmName: `mlp-${envName}-estimated-auc`,
      alarmDescription:
        `The served model's estimated AUC (from its scores, before outcomes arrive) is below the gate's floor ` +
        `${config.retraining.promotion.minAuc}.`,
      metric: new cloudwatch.Metric({
        namespace,
        metricName: 'ChampionEstimatedAuc',
        dimensionsMap: { service: MONITORING_SERVICE },
        statistic: 'Minimum',
        period: Duration.days(1),
      }),
      threshold: config.retraining.promotion.minAuc,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const hourly = (metricName: string, dimensionsMap: Record<string, string> = { service: MONITORING_SERVICE }) =>
      new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic: 'Maximum', period: Duration.hours(1) });
    this.driftAlarm = new cloudwatch.Alarm(this, 'DriftPsi', {
      alarmName: driftAlarmName(envName),
      alarmDescription:
        `A feature or the score of the served model drifted: PSI at or above ${config.alarms.driftPsi} in 2 of 3 ` +
        `hourly windows of at least ${config.alarms.driftMinRecords} records. Starts a retraining.`,
      metric: hourly('MaxPsi'),
      threshold: config.alarms.driftPsi,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // A quiet hour publishes no MaxPsi: it neither raises nor clears the alarm (and so retrains no twice).
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.retrainingFailedAlarm = new cloudwatch.Alarm(this, 'RetrainingFailed', {
      alarmName: `mlp-${envName}-retraining-failed`,
      alarmDescription: 'A retraining execution failed, timed out or was aborted.',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: {
          failed: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
          timedOut: props.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
          aborted: props.stateMachine.metricAborted({ period: Duration.minutes(5), statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const jobErrors = new cloudwatch.Alarm(this, 'DriftJobErrors', {
      alarmName: `mlp-${envName}-monitoring-job-errors`, // not under the drift prefix: a failed job must not retrain
      alarmDescription: 'The drift or the quality job failed: drift or quality is not being judged.',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(drift, 0) + FILL(quality, 0)',
        usingMetrics: {
          drift: fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
          quality: quality.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
        },
        period: Duration.hours(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.driftAlarm, this.retrainingFailedAlarm, this.estimatedAucAlarm, jobErrors]) {
      alarm.addAlarmAction(new actions.SnsAction(props.alertTopic));
      alarm.addOkAction(new actions.SnsAction(props.alertTopic));
    }

    this.dashboard = this.buildDashboard(props, namespace);
  }

  private buildDashboard(props: MonitoringStackProps, namespace: string): cloudwatch.Dashboard {
    const envName = props.config.name;
    const scorer = (metricName: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        dimensionsMap: { service: SCORER_SERVICE },
        statistic,
        period: Duration.minutes(5),
      });
    const search = (metricName: string, dimensions: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${namespace},${dimensions}} MetricName="${metricName}"', 'Maximum', 3600)`,
        label,
        period: Duration.hours(1),
      });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `mlp-${envName}`,
      defaultInterval: Duration.days(7),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Scorer requests and 5xx',
        left: [scorer(SCORER_METRIC.requests), scorer(SCORER_METRIC.serverErrors)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Scorer throttles and crashes',
        left: [props.scorer.metricThrottles({ period: Duration.minutes(5) }), props.scorer.metricErrors()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Scorer latency p50 / p99 (ms)',
        left: [
          props.scorer.metricDuration({ statistic: 'p50', period: Duration.minutes(5) }),
          props.scorer.metricDuration({ statistic: 'p99', period: Duration.minutes(5) }),
        ],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'PSI per feature',
        left: [search('FeaturePsi', 'Feature,ModelVersion,service', '')],
        leftAnnotations: [{ value: props.config.alarms.driftPsi, label: 'driftPsi' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Score PSI and drifted share of features',
        left: [search('ScorePsi', 'ModelVersion,service', 'score PSI')],
        right: [search('DriftedShare', 'ModelVersion,service', 'drifted share')],
        leftAnnotations: [{ value: props.config.alarms.driftPsi, label: 'driftPsi' }],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Retraining executions',
        left: [
          props.stateMachine.metricStarted({ period: Duration.hours(1) }),
          props.stateMachine.metricSucceeded({ period: Duration.hours(1) }),
          props.stateMachine.metricFailed({ period: Duration.hours(1) }),
        ],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [this.driftAlarm, this.retrainingFailedAlarm, this.estimatedAucAlarm],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'AUC per version and cohort: estimated from scores, realised from outcomes',
        left: [
          search('EstimatedAuc', 'Cohort,ModelVersion,service', 'estimated'),
          search('RealisedAuc', 'Cohort,ModelVersion,service', 'realised'),
        ],
        leftAnnotations: [{ value: props.config.retraining.promotion.minAuc, label: 'gate floor' }],
        width: 24,
      }),
    );
    return dashboard;
  }
}
