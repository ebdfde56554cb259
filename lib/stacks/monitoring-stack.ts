/**
 * Monitoring of the served model: the hourly drift job (a Lambda the schedule starts, which judges the
 * champion's captured traffic against its baseline and publishes PSI per feature and of the score), the drift
 * alarm — MaxPsi at or above `driftPsi` in 2 of 3 hourly periods, named `mlp-<env>-drift-psi` so that the
 * retraining trigger starts an execution when it fires — alarms on failed retraining executions and on the job
 * itself, all to the alerts topic, and the environment's dashboard. The daily quality job (DuckDB; it merges the
 * outcomes dataset's landed extracts into that dataset's curated table and reads the outcomes there) publishes
 * estimated and realised AUC; the champion's estimated AUC below the
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
import { PlatformFunction, type PlatformFunctionProps } from '../constructs/platform-function';
import { ObjectAccess } from '../retraining/object-access';
import { grantSideTableMerge } from '../retraining/side-table-access';

/** Properties of {@link MonitoringStack}. */
export interface MonitoringStackProps extends StackProps {
  readonly config: Pick<EnvironmentConfig, 'name' | 'retraining' | 'alarms' | 'logRetentionDays'>;
  readonly retainLogs: boolean;
  readonly vpc: ec2.IVpc;
  readonly buckets: {
    readonly capture: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
    readonly models: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
    readonly curated: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
    /** Where the outcomes dataset's extracts land (the quality job merges them). */
    readonly landing: { readonly name: string; readonly arnExport: string; readonly key: kms.IKey };
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
  readonly outcomesAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config } = props;
    const envName = config.name;
    const dataset = config.retraining.dataset;
    const namespace = scorerMetricsNamespace(envName);
    const objects = new ObjectAccess({
      capture: { arnExport: props.buckets.capture.arnExport, key: props.buckets.capture.key },
      models: { arnExport: props.buckets.models.arnExport, key: props.buckets.models.key },
      curated: { arnExport: props.buckets.curated.arnExport, key: props.buckets.curated.key },
      landing: { arnExport: props.buckets.landing.arnExport, key: props.buckets.landing.key },
    });
    const settings = this.toJsonString(
      monitoringSettings(
        config,
        {
          capture: props.buckets.capture.name,
          models: props.buckets.models.name,
          curated: props.buckets.curated.name,
          landing: props.buckets.landing.name,
        },
        namespace,
      ),
    );
    /**
     * A scheduled job of monitoring-handlers.ts (`<name>Job`): it reads the dataset's captures and the champion
     * files, writes only under its own reports' prefix, and runs every `every` (EventBridge invokes it
     * asynchronously and retries twice; the next run judges again, so no dead-letter queue).
     */
    const reports = { drift: capture.driftReportsPrefix(dataset), quality: capture.qualityReportsPrefix(dataset) };
    const job = (
      name: keyof typeof reports,
      every: 'hour' | 'day',
      size: Pick<PlatformFunctionProps, 'memoryMb' | 'timeout' | 'nodeModules' | 'ephemeralStorageMb'>,
      reads: string,
    ) => {
      const Name = `${name[0].toUpperCase()}${name.slice(1)}`;
      const made = new PlatformFunction(this, `${Name}Job`, {
        entry: 'stepfunctions/monitoring/monitoring-handlers.ts',
        handler: `${name}Job`,
        description: `mlp ${envName}: ${every}ly ${name} job`,
        vpc: props.vpc,
        reservedConcurrency: 1,
        ...size,
        logRetentionDays: config.logRetentionDays,
        logsKey: props.logsKey,
        retainLogs: props.retainLogs,
        environment: {
          MONITORING_SETTINGS: settings,
          POWERTOOLS_SERVICE_NAME: MONITORING_SERVICE,
          POWERTOOLS_METRICS_NAMESPACE: namespace,
        },
        compliance: {
          inlinePolicy:
            `CDK-generated policy of the ${name} job role, scoped to ${reads}. Inline keeps it deleted with the ` +
            'role; no other principal uses it.',
          invocation:
            `Invoked asynchronously by its ${every}ly EventBridge schedule only (two retries): a run that still ` +
            'fails is counted by the monitoring-job-errors alarm, and the next run judges the same captures again, ' +
            'so a dead-letter queue would hold no event worth replaying.',
        },
      });
      const fn = made.function;
      objects.read(fn, {
        sid: 'ReadCaptures',
        objects: [{ bucket: 'capture', prefix: capture.datasetPrefix(dataset) }],
        why: 'captures are keyed by model version, hour and request id.',
      });
      objects.list(fn, 'capture', `${capture.datasetPrefix(dataset)}*`, 'ListCaptures');
      objects.write(fn, {
        sid: `Write${Name}Reports`,
        objects: [{ bucket: 'capture', prefix: reports[name] }],
        why: 'reports are keyed by the time of their run.',
      });
      // The pointer (which version serves); the drift job also its baseline, keyed by the version: never a model.
      const pointer = { bucket: 'models' as const, prefix: models.championPointerKey(dataset) };
      const baselines = { bucket: 'models' as const, prefix: servedBaselinesPattern(dataset) };
      objects.read(fn, {
        sid: 'ReadChampion',
        objects: name === 'drift' ? [pointer, baselines] : [pointer],
        why: 'the champion pointer names the served version, whose baseline is keyed by it.',
      });
      objects.list(fn, 'models', models.championPointerKey(dataset), 'ListChampionPointer');
      new events.Rule(this, `${Name}Schedule`, {
        description: `mlp ${envName}: run the ${name} job every ${every}`,
        schedule: events.Schedule.rate(every === 'hour' ? Duration.hours(1) : Duration.days(1)),
        targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
      });
      return made;
    };
    this.driftJob = job(
      'drift',
      'hour',
      { memoryMb: 1024, timeout: Duration.minutes(10) },
      'the captures and drift reports of its dataset and the champion files it judges',
    );
    // DuckDB reads the curated table's files, downloaded to the function's ephemeral storage.
    this.qualityJob = job(
      'quality',
      'day',
      {
        memoryMb: 4096,
        timeout: Duration.minutes(15),
        nodeModules: [NATIVE_MODULES.duckdb],
        ephemeralStorageMb: 10_240,
      },
      'the captures and quality reports of its dataset, its curated table and the champion pointer',
    );
    const fn = this.driftJob.function;
    const quality = this.qualityJob.function;
    // Outcomes: the outcomes dataset's curated table, which the job merges the landed extracts into (read and
    // write, that table only); without an outcomes dataset, the training dataset's table, read only.
    const outcomes = config.retraining.outcomes?.dataset;
    if (outcomes) {
      grantSideTableMerge(objects, quality, {
        side: outcomes,
        training: dataset,
        sids: {
          readTable: 'ReadCuratedTable',
          listTable: 'ListCuratedTable',
          mergeTable: 'MergeOutcomes',
          readExtracts: 'ReadOutcomeExtracts',
          listExtracts: 'ListOutcomeExtracts',
        },
      });
    } else {
      const table = { bucket: 'curated' as const, prefix: curated.tablesPrefix(dataset) };
      const why = "the curated table's files are keyed by the pseudonymisation key id and the agent's run id.";
      objects.read(quality, { sid: 'ReadCuratedTable', objects: [table], why });
      objects.list(quality, 'curated', `${table.prefix}*`, 'ListCuratedTable');
    }
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

    // Outcomes that cannot count (none landed, an extract not merged, keys that cannot join) freeze every realised
    // figure without failing the job: the job publishes how many such problems it met, 0 included.
    this.outcomesAlarm = new cloudwatch.Alarm(this, 'OutcomeProblems', {
      alarmName: `mlp-${envName}-outcomes`,
      alarmDescription:
        "The quality job's outcomes do not count: none landed, an extract could not be merged, or their keys " +
        'cannot join the captured predictions. Its latest quality report names the problem.',
      metric: new cloudwatch.Metric({
        namespace,
        metricName: 'OutcomeProblems',
        dimensionsMap: { service: MONITORING_SERVICE },
        statistic: 'Maximum',
        period: Duration.days(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.driftAlarm = new cloudwatch.Alarm(this, 'DriftPsi', {
      alarmName: driftAlarmName(envName),
      alarmDescription:
        `A feature or the score of the served model drifted: PSI at or above ${config.alarms.driftPsi} in 2 of 3 ` +
        `hourly windows of at least ${config.alarms.driftMinRecords} records. Starts a retraining.`,
      metric: new cloudwatch.Metric({
        namespace,
        metricName: 'MaxPsi',
        dimensionsMap: { service: MONITORING_SERVICE },
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
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
    for (const alarm of [
      this.driftAlarm,
      this.retrainingFailedAlarm,
      this.estimatedAucAlarm,
      this.outcomesAlarm,
      jobErrors,
    ]) {
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
        alarms: [this.driftAlarm, this.retrainingFailedAlarm, this.estimatedAucAlarm, this.outcomesAlarm],
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

/**
 * Every served baseline of a dataset as an IAM key pattern (`champion/<dataset>/*` + `/baseline.json`): a version's
 * baseline is `champion/<dataset>/<version segment>/baseline.json` (models.servingKeys).
 */
export function servedBaselinesPattern(dataset: string): string {
  return `${models.championPrefix(dataset)}*/baseline.json`;
}
