import { Match, type Template } from 'aws-cdk-lib/assertions';
import { loadEnvironment } from '../../config';
import { synthesizePlatform, templateOf } from '../support/platform';

const platform = synthesizePlatform();

type KeyStatement = { Sid?: string; Principal?: { Service?: string }; Condition?: unknown };
type Statement = { Sid?: string; Effect: string; Action: unknown; Condition?: Record<string, Record<string, unknown>> };

function policyOf(template: Template, bucketLogicalId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter(
    (p) => p.Properties.Bucket.Ref === bucketLogicalId,
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement as Statement[];
}

/** Logical id of the bucket whose construct path is `<stack>/<name>/Bucket`. */
function bucketId(template: Template, name: string): string {
  const ids = Object.keys(template.findResources('AWS::S3::Bucket')).filter((id) => id.startsWith(`${name}Bucket`));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe.each(['dev', 'staging', 'prod'])('%s keys, buckets and audit trail', (envName) => {
  const config = loadEnvironment(envName);
  const stage = platform.stages[envName];
  let keys: Template;
  let data: Template;
  let audit: Template;
  beforeAll(() => {
    keys = templateOf(stage, 'keys');
    data = templateOf(stage, 'data');
    audit = templateOf(stage, 'audit');
  });

  test('has one rotating customer-managed key per data class', () => {
    const all = Object.values(keys.findResources('AWS::KMS::Key'));
    expect(all).toHaveLength(4);
    for (const key of all) expect(key.Properties).toMatchObject({ EnableKeyRotation: true, RotationPeriodInDays: 365 });
    const aliases = Object.values(keys.findResources('AWS::KMS::Alias')).map((a) => a.Properties.AliasName);
    expect(aliases.sort()).toEqual(['audit', 'capture', 'landing', 'models'].map((c) => `alias/mlp/${envName}/${c}`));
  });

  test(`${config.retainData ? 'retains' : 'deletes'} keys and buckets when the stack is deleted`, () => {
    const expected = config.retainData ? 'Retain' : 'Delete';
    for (const resource of [
      ...Object.values(keys.findResources('AWS::KMS::Key')),
      ...Object.values(data.findResources('AWS::S3::Bucket')),
      ...Object.values(audit.findResources('AWS::S3::Bucket')),
    ]) {
      expect(resource.DeletionPolicy).toBe(expected);
      expect(resource.UpdateReplacePolicy).toBe(expected);
    }
  });

  const buckets: Array<[string, 'data' | 'audit', string]> = [
    ['AccessLogs', 'data', 'AuditKey'],
    ['Landing', 'data', 'LandingKey'],
    ['Curated', 'data', 'LandingKey'],
    ['Models', 'data', 'ModelsKey'],
    ['Capture', 'data', 'CaptureKey'],
    ['AuditLogs', 'audit', 'AuditKey'],
  ];
  test.each(buckets)(
    'the %s bucket is private, versioned, KMS-encrypted with its class key, logged and tidy',
    (name, stack, key) => {
      const template = stack === 'data' ? data : audit;
      const id = bucketId(template, name);
      const props = template.findResources('AWS::S3::Bucket')[id].Properties;
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      const sse = props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
      expect(sse.SSEAlgorithm).toBe('aws:kms');
      expect(JSON.stringify(sse.KMSMasterKeyID)).toMatch(new RegExp(`${key}[0-9A-F]{8}Arn`));
      expect(props.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }),
      );
      if (name === 'AccessLogs') {
        expect(props.LoggingConfiguration).toBeUndefined();
      } else {
        expect(props.LoggingConfiguration.LogFilePrefix).toMatch(/^[a-z]+\/$/);
        expect(JSON.stringify(props.LoggingConfiguration.DestinationBucketName)).toContain('AccessLogsBucket');
      }
    },
  );

  test.each(buckets)('the %s bucket denies plain HTTP and TLS below 1.2', (name, stack) => {
    const template = stack === 'data' ? data : audit;
    const statements = policyOf(template, bucketId(template, name));
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
      }),
    );
  });

  test('the landing bucket denies the agent outside the S3 interface endpoint and puts with any other key', () => {
    const statements = policyOf(data, bucketId(data, 'Landing'));
    const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(bySid.DenyAgentOutsideS3InterfaceEndpoint).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Condition: {
        ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${config.account}:role/mlp-${envName}-onprem-agent` },
      },
    });
    expect(JSON.stringify(bySid.DenyAgentOutsideS3InterfaceEndpoint.Condition?.StringNotEquals)).toContain(
      'VpcS3Interface',
    );
    expect(bySid.DenyPutWithoutKms).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    });
    expect(bySid.DenyPutWithOtherKey).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject' });
    expect(JSON.stringify(bySid.DenyPutWithOtherKey.Condition)).toMatch(
      /StringNotEqualsIfExists.*s3:x-amz-server-side-encryption-aws-kms-key-id.*LandingKey/,
    );
    expect(statements.filter((s) => s.Effect === 'Allow')).toEqual([]);
  });

  test('the access-log bucket admits only S3 log delivery from this account', () => {
    const allows = policyOf(data, bucketId(data, 'AccessLogs')).filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({
        Sid: 'S3ServerAccessLogDelivery',
        Action: 's3:PutObject',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': config.account } },
      }),
    ]);
  });

  test(config.auditObjectLock ? 'locks the audit bucket (WORM)' : 'does not lock the audit bucket', () => {
    const props = audit.findResources('AWS::S3::Bucket')[bucketId(audit, 'AuditLogs')].Properties;
    if (config.auditObjectLock) {
      expect(props.ObjectLockEnabled).toBe(true);
      expect(props.ObjectLockConfiguration).toEqual({
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: config.auditObjectLock.mode, Days: config.auditObjectLock.retentionDays } },
      });
    } else {
      expect(props.ObjectLockEnabled).toBeUndefined();
    }
  });

  test('CloudTrail records management events and S3 data events on landing, curated and models', () => {
    audit.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsLogging: true,
      EnableLogFileValidation: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      KMSKeyId: Match.anyValue(),
      CloudWatchLogsLogGroupArn: Match.anyValue(),
      S3BucketName: { Ref: bucketId(audit, 'AuditLogs') },
    });
    const trail = Object.values(audit.findResources('AWS::CloudTrail::Trail'))[0].Properties;
    expect(trail.EventSelectors[0]).toEqual({ IncludeManagementEvents: true, ReadWriteType: 'All' });
    const dataSelector = trail.EventSelectors[1];
    expect(dataSelector.ReadWriteType).toBe('All');
    const values = JSON.stringify(dataSelector.DataResources);
    expect(dataSelector.DataResources[0].Type).toBe('AWS::S3::Object');
    for (const bucket of ['Landing', 'Curated', 'Models']) expect(values).toContain(`${bucket}Bucket`);
    expect(dataSelector.DataResources[0].Values).toHaveLength(3);
    expect(JSON.stringify(trail.KMSKeyId)).toContain('AuditKey');
  });

  test('the audit key admits log services only for this account', () => {
    const key = Object.entries(keys.findResources('AWS::KMS::Key')).find(([id]) => id.startsWith('AuditKey'))![1];
    const services = (key.Properties.KeyPolicy.Statement as KeyStatement[])
      .filter((s) => s.Principal?.Service)
      .map((s) => [s.Sid, s.Principal?.Service, s.Condition ?? null]);
    expect(services).toEqual([
      [
        'CloudWatchLogsEncryptAccountLogGroups',
        `logs.${config.region}.amazonaws.com`,
        {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${config.region}:${config.account}:log-group:*`,
          },
        },
      ],
      [
        'CloudTrailEncryptAccountTrails',
        'cloudtrail.amazonaws.com',
        expect.objectContaining({ StringLike: expect.any(Object) }),
      ],
      ['CloudTrailDescribeKey', 'cloudtrail.amazonaws.com', null],
      [
        'CloudWatchAlarmsPublishToEncryptedTopics',
        'cloudwatch.amazonaws.com',
        { StringEquals: { 'aws:SourceAccount': config.account } },
      ],
      [
        'S3ServerAccessLogDelivery',
        'logging.s3.amazonaws.com',
        { StringEquals: { 'aws:SourceAccount': config.account } },
      ],
    ]);
    for (const other of ['LandingKey', 'ModelsKey', 'CaptureKey']) {
      const k = Object.entries(keys.findResources('AWS::KMS::Key')).find(([id]) => id.startsWith(other))![1];
      expect((k.Properties.KeyPolicy.Statement as KeyStatement[]).filter((s) => s.Principal?.Service)).toEqual([]);
    }
  });
});
