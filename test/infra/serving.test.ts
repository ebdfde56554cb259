import { Match, type Template } from 'aws-cdk-lib/assertions';
import { loadEnvironment } from '../../config';
import { scoringRequestSchema } from '../../lambdas/scorer/request-schema';
import { synthesizePlatform, templateOf } from '../support/platform';

const platform = synthesizePlatform();

describe.each(['dev', 'staging', 'prod'])('%s serving', (envName) => {
  const config = loadEnvironment(envName);
  let serving: Template;
  let alerts: Template;
  beforeAll(() => {
    serving = templateOf(platform.stages[envName], 'serving');
    alerts = templateOf(platform.stages[envName], 'alerts');
  });

  test("the API's request model is the handler's schema: the configured features, their types, nothing else", () => {
    const models = Object.values(serving.findResources('AWS::ApiGateway::Model'));
    expect(models).toHaveLength(1);
    const { Schema, ContentType } = models[0].Properties;
    expect(ContentType).toBe('application/json');
    const features = [
      ...config.retraining.numericFeatures.map((name) => ({ name, type: 'numeric' as const })),
      ...config.retraining.categoricalFeatures.map((name) => ({ name, type: 'categorical' as const })),
    ];
    expect(Schema).toEqual({ $schema: 'http://json-schema.org/draft-04/schema#', ...scoringRequestSchema(features) });
    const record = Schema.properties.records.items;
    expect(Object.keys(record.properties).sort()).toEqual(features.map((f) => f.name).sort());
    expect(record.additionalProperties).toBe(false);
  });

  test('the scorer is an arm64 nodejs22.x function in the isolated subnets with reserved concurrency', () => {
    serving.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: config.scorer.memoryMb,
      ReservedConcurrentExecutions: config.scorer.reservedConcurrency,
      TracingConfig: { Mode: 'Active' },
      VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          // cdk deploy installs a version that follows the champion pointer (under champion/, which it may read).
          CHAMPION_POINTER_URI: Match.objectLike({
            'Fn::Join': ['', Match.arrayWith([`/champion/${config.retraining.dataset}/champion.json`])],
          }),
        }),
      },
    });
    serving.resourceCountIs('AWS::Lambda::Function', 1);
    serving.resourceCountIs('AWS::Lambda::Url', 0);
    serving.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live' });
    const groups = Object.values(serving.findResources('AWS::EC2::SecurityGroup'));
    expect(groups).toHaveLength(1);
    expect(groups[0].Properties.SecurityGroupIngress).toBeUndefined();
    expect(groups[0].Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
  });

  test('the API is PRIVATE, IAM-authorized and admits only the execute-api endpoint', () => {
    const api = Object.values(serving.findResources('AWS::ApiGateway::RestApi'))[0].Properties;
    expect(api.EndpointConfiguration.Types).toEqual(['PRIVATE']);
    expect(JSON.stringify(api.EndpointConfiguration.VpcEndpointIds)).toContain('VpcExecuteApi');
    const [deny, allow] = api.Policy.Statement;
    expect(deny).toMatchObject({ Effect: 'Deny', Action: 'execute-api:Invoke', Principal: { AWS: '*' } });
    expect(JSON.stringify(deny.Condition.StringNotEquals['aws:SourceVpce'])).toContain('VpcExecuteApi');
    expect(allow).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
    expect(JSON.stringify(allow.Principal)).toContain(`:iam::${config.account}:root`);
    const methods = Object.values(serving.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(1);
    expect(methods[0].Properties).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    expect(JSON.stringify(methods[0].Properties.Integration.Uri)).toContain('{"Ref":"Live848578DF"}');
    serving.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      TracingEnabled: true,
      AccessLogSetting: Match.anyValue(),
      MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR', MetricsEnabled: true })],
    });
  });

  test('the scorer reads only the champion artifacts and writes only its dataset’s captures', () => {
    const statements = Object.values(serving.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const s3 = statements.filter((s: { Action: string | string[] }) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::ImportValue': `mlp-${envName}-models-bucket-arn` }, '/champion/*']] },
      }),
      expect.objectContaining({
        Action: 's3:PutObject',
        Resource: {
          'Fn::Join': [
            '',
            [{ 'Fn::ImportValue': `mlp-${envName}-capture-bucket-arn` }, `/${config.retraining.dataset}/*`],
          ],
        },
      }),
    ]);
    const fn = Object.values(serving.findResources('AWS::Lambda::Function'))[0];
    expect(JSON.stringify(fn.Properties.Environment.Variables.CAPTURE_URI)).toContain(`/${config.retraining.dataset}/`);
  });

  test('error-rate and p99 alarms notify the encrypted alert topic', () => {
    serving.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: config.alarms.scorerErrorRatePercent,
      AlarmActions: [Match.anyValue()],
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(total > 0, 100 * failed / total, 0)' })]),
    });
    // The handler answers failures with a 5xx, so the rate counts its own ServerErrors (and Lambda's Errors for
    // crashes) against its own Requests: Lambda's Errors alone would never see a failing model.
    const [errorRate] = Object.values(serving.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmDescription).startsWith('Scorer 5xx'),
    );
    const stats = (errorRate.Properties.Metrics as { Id: string; MetricStat?: { Metric: Record<string, unknown> } }[])
      .filter((m) => m.MetricStat)
      .map((m) => [m.Id, m.MetricStat!.Metric.Namespace, m.MetricStat!.Metric.MetricName]);
    expect(stats).toEqual(
      expect.arrayContaining([
        ['serverErrors', `mlp/${envName}`, 'ServerErrors'],
        ['requests', `mlp/${envName}`, 'Requests'],
        ['crashes', 'AWS/Lambda', 'Errors'],
      ]),
    );
    serving.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: config.alarms.scorerLatencyP99Ms,
      ExtendedStatistic: 'p99',
      AlarmActions: [Match.anyValue()],
    });
    alerts.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    alerts.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: config.notificationEmail });
  });
});
