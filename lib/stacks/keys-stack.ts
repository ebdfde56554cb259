/**
 * Customer-managed KMS keys, one per data class, each with yearly rotation. Key policies admit AWS services
 * only for the encryption contexts the platform uses; IAM principals get access through their own policies.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { keyAlias } from '../../contracts/resource-names';

/** The data classes that each get their own key. */
export type DataClass = 'landing' | 'models' | 'capture' | 'audit';

/** Properties of {@link KeysStack}. */
export interface KeysStackProps extends StackProps {
  readonly envName: string;
  /** Keep keys when the stack is deleted (scheduled for deletion after 30 days otherwise). */
  readonly retain: boolean;
}

/** Holds the platform's KMS keys. Stateful: its logical ids must never change. */
export class KeysStack extends Stack {
  /** Landing extracts and curated (prepared) datasets: the features data class. */
  public readonly landingKey: kms.Key;
  /** Model artifacts, feature specs and baselines. */
  public readonly modelsKey: kms.Key;
  /** Inference capture (requests and predictions). */
  public readonly captureKey: kms.Key;
  /** Logs and audit: CloudTrail, CloudWatch log groups, VPC flow logs, S3 access logs, the alert topic. */
  public readonly auditKey: kms.Key;

  constructor(scope: Construct, id: string, props: KeysStackProps) {
    super(scope, id, props);
    const make = (logicalId: string, dataClass: DataClass, description: string) =>
      new kms.Key(this, logicalId, {
        alias: keyAlias(props.envName, dataClass),
        description: `mlp ${props.envName}: ${description}`,
        enableKeyRotation: true,
        rotationPeriod: Duration.days(365),
        pendingWindow: Duration.days(30),
        removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
    this.landingKey = make('LandingKey', 'landing', 'landing extracts and curated datasets');
    this.modelsKey = make('ModelsKey', 'models', 'model artifacts, feature specs, drift baselines');
    this.captureKey = make('CaptureKey', 'capture', 'inference capture');
    this.auditKey = make('AuditKey', 'audit', 'CloudTrail, log groups, flow logs, access logs');
    this.allowLogServices();
  }

  private allowLogServices(): void {
    const { account, region, partition } = this;
    this.auditKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptAccountLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*` },
        },
      }),
    );
    this.auditKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptAccountTrails',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringLike: {
            'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${partition}:cloudtrail:*:${account}:trail/*`,
            'aws:SourceArn': `arn:${partition}:cloudtrail:${region}:${account}:trail/*`,
          },
        },
      }),
    );
    this.auditKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailDescribeKey',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );
    this.auditKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    this.auditKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogDelivery',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
  }
}
