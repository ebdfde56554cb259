/**
 * The Monitoring stack as synthesized: the hourly drift job and what it may touch, the drift alarm the
 * retraining trigger waits for (and no other alarm under its prefix), the failed-retraining alarm, all to the
 * alerts topic, and the dashboard's widgets.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENTS, loadEnvironment } from '../../config';
import { driftAlarmName } from '../../contracts/monitoring-metrics';
import { driftAlarmPrefix } from '../../contracts/resource-names';
import { models } from '../../contracts/s3-layout';
import { servedBaselinesPattern } from '../../lib/stacks/monitoring-stack';
import { parseMonitoringSettings } from '../../stepfunctions/monitoring/monitoring-settings';
import { synthesizePlatform, templateOf } from '../support/platform';

const platform = synthesizePlatform();

describe.each(['dev', 'staging', 'prod'])('%s monitoring', (envName) => {
  const config = loadEnvironment(envName);
  let monitoring: Template;
  beforeAll(() => {
    monitoring = templateOf(platform.stages[envName], 'monitoring');
  });
  const alarms = () => Object.values(monitoring.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);

  test('the drift alarm: MaxPsi at or above driftPsi in 2 of 3 hours, missing data ignored, to SNS', () => {
    const drift = alarms().find((a) => a.AlarmName === driftAlarmName(envName));
    expect(drift).toMatchObject({
      MetricName: 'MaxPsi',
      Namespace: `mlp/${envName}`,
      Dimensions: [{ Name: 'service', Value: 'mlp-monitoring' }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: config.alarms.driftPsi,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [expect.anything()],
    });
  });

  test('the estimated-AUC alarm: the champion’s estimate below the gate’s floor, daily, to SNS', () => {
    expect(alarms().find((a) => a.AlarmName === `mlp-${envName}-estimated-auc`)).toMatchObject({
      MetricName: 'ChampionEstimatedAuc',
      Dimensions: [{ Name: 'service', Value: 'mlp-monitoring' }],
      Period: 86_400,
      Threshold: config.retraining.promotion.minAuc,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    monitoring.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 day)' });
    const [quality] = Object.values(monitoring.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Handler === 'index.qualityJob',
    );
    expect(quality.Properties).toMatchObject({ MemorySize: 4096, EphemeralStorage: { Size: 10_240 } });
  });

  test('the outcomes alarm: any problem that keeps outcomes from counting, daily, to SNS', () => {
    expect(alarms().find((a) => a.AlarmName === `mlp-${envName}-outcomes`)).toMatchObject({
      MetricName: 'OutcomeProblems',
      Dimensions: [{ Name: 'service', Value: 'mlp-monitoring' }],
      Period: 86_400,
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [expect.anything()],
    });
  });

  test('only the drift alarm is under the prefix the retraining trigger matches', () => {
    const rules = JSON.stringify(
      Template.fromStack(platform.stages[envName].retraining).findResources('AWS::Events::Rule'),
    );
    expect(rules).toContain(driftAlarmPrefix(envName));
    const names = alarms().map((a) => a.AlarmName as string);
    expect(names.filter((n) => n.startsWith(driftAlarmPrefix(envName)))).toEqual([driftAlarmName(envName)]);
    expect(names).toEqual(
      expect.arrayContaining([`mlp-${envName}-retraining-failed`, `mlp-${envName}-monitoring-job-errors`]),
    );
    for (const alarm of alarms()) expect(alarm.AlarmActions).toHaveLength(1);
  });

  test('the drift job runs hourly with its settings, reads captures and the champion, writes only reports', () => {
    monitoring.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
    const [fn] = Object.values(monitoring.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Handler === 'index.driftJob',
    );
    const settings = fn.Properties.Environment.Variables.MONITORING_SETTINGS;
    // The settings are JSON with the bucket names as references: joined with a placeholder for each.
    const parts = (settings as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const parsed = parseMonitoringSettings(parts.map((p) => (typeof p === 'string' ? p : 'bucket')).join(''));
    expect(parsed).toMatchObject({
      dataset: config.retraining.dataset,
      psiThreshold: config.alarms.driftPsi,
      minRecords: config.alarms.driftMinRecords,
      windowHours: config.alarms.driftWindowHours,
    });
    const statements = Object.values(monitoring.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Sid: string; Action: string; Resource: unknown }[],
    );
    const s3 = Object.fromEntries(
      statements
        .filter((s) => String(s.Action).startsWith('s3:'))
        .map((s) => [s.Sid, [s.Action, JSON.stringify(s.Resource)]]),
    );
    const dataset = config.retraining.dataset;
    expect(s3.ReadCaptures[0]).toBe('s3:GetObject');
    expect(s3.ReadCaptures[1]).toContain(`/${dataset}/*`);
    expect(s3.WriteDriftReports).toEqual(['s3:PutObject', expect.stringContaining(`/_monitoring/${dataset}/drift/*`)]);
    // The pointer and the served baselines, never a model: the pattern matches a version's baseline key only.
    const champion = statements.filter((st) => st.Sid === 'ReadChampion').map((st) => JSON.stringify(st.Resource));
    expect(champion).toHaveLength(2);
    const drift = champion.find((r) => r.includes('baseline.json'))!;
    expect(drift).toContain(`/champion/${dataset}/champion.json*`);
    expect(drift).toContain(`/champion/${dataset}/*/baseline.json*`);
    expect(champion.find((r) => !r.includes('baseline.json'))).toContain(`/champion/${dataset}/champion.json*`);
    const pattern = new RegExp(`^${servedBaselinesPattern(dataset).replace(/[.]/g, '\\.').replace('*', '[^]*')}$`);
    const served = models.servingKeys(dataset, `mlp-${envName}-${dataset}/12`);
    expect([served.baseline, served.model, served.featureSpec].map((k) => pattern.test(k))).toEqual([
      true,
      false,
      false,
    ]);
    // Two writers (the drift and the quality job), each only under its own reports' prefix; the quality job also
    // merges the outcomes dataset's extracts (read from landing) into that dataset's table, and writes no other.
    const outcomes = config.retraining.outcomes!.dataset;
    const writes = statements.filter((s) => String(s.Action).includes('s3:PutObject'));
    expect(
      writes.map((s) => [s.Sid, JSON.stringify(s.Resource).match(/(_monitoring|\w+\/table)\/[^"]*/)?.[0]]).sort(),
    ).toEqual([
      ['MergeOutcomes', `${outcomes}/table/*`],
      ['WriteDriftReports', `_monitoring/${dataset}/drift/*`],
      ['WriteQualityReports', `_monitoring/${dataset}/quality/*`],
    ]);
    expect(s3.ReadOutcomeExtracts).toEqual(['s3:GetObject', expect.stringContaining(`/landing/${outcomes}/*`)]);
    expect(s3.ReadCuratedTable).toEqual(['s3:GetObject', expect.stringContaining(`/${outcomes}/table/*`)]);
    // The training table's pointer and logs alone (key id and key domain), never its files.
    const trainingLog = statements.find((st) => st.Sid === 'ReadTrainingTableLog')!;
    expect(JSON.stringify(trainingLog.Resource)).toContain(`/${dataset}/table/current.json*`);
    expect(JSON.stringify(trainingLog.Resource)).toContain(`/${dataset}/table/*/_log.json*`);
    expect(JSON.stringify(trainingLog.Resource)).not.toContain(`/${dataset}/table/*"`);
    expect(parsed).toMatchObject({ outcomesDataset: outcomes, label: config.retraining.outcomes!.label });
  });

  test('the dashboard shows traffic, latency, PSI per feature, drifted share, retraining and alarms', () => {
    const [dashboard] = Object.values(monitoring.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBe(`mlp-${envName}`);
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const expected of [
      'Requests',
      'ServerErrors',
      'Throttles',
      'p99',
      'p50',
      'MetricName=\\\\\\"FeaturePsi\\\\\\"',
      'ScorePsi',
      'DriftedShare',
      'ExecutionsFailed',
      'ExecutionsSucceeded',
      'EstimatedAuc',
      'RealisedAuc',
      'alarm',
    ]) {
      expect(body).toContain(expected);
    }
  });
});

test('without an outcomes dataset the quality job reads the training table, and writes no table nor reads landing', () => {
  const dev = ENVIRONMENTS.dev;
  const { outcomes: _outcomes, ...retraining } = dev.retraining;
  const { stages } = synthesizePlatform(['dev'], { environments: { dev: { ...dev, retraining } } });
  const statements = Object.values(templateOf(stages.dev, 'monitoring').findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as { Sid: string; Resource: unknown }[],
  );
  const sids = statements.map((s) => s.Sid);
  expect(sids).not.toContain('MergeOutcomes');
  expect(sids).not.toContain('ReadOutcomeExtracts');
  expect(sids).not.toContain('ReadTrainingTableLog');
  const table = statements.find((s) => s.Sid === 'ReadCuratedTable')!;
  expect(JSON.stringify(table.Resource)).toContain(`/${dev.retraining.dataset}/table/*`);
});
