/**
 * The platform's buckets: landing (agent uploads), curated (prepared datasets), models, capture (inference
 * capture) and the access-log destination. The landing bucket only admits the agent through the S3
 * interface endpoint and only objects encrypted with the landing key.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { SecureBucket } from '../constructs/secure-bucket';
import { agentRoleName, bucketArnExportName, STACK_OUTPUTS } from '../../contracts/resource-names';
import { curated } from '../../contracts/s3-layout';

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  readonly envName: string;
  readonly retain: boolean;
  readonly keys: {
    readonly landing: kms.IKey;
    readonly models: kms.IKey;
    readonly capture: kms.IKey;
    readonly audit: kms.IKey;
  };
  /** The S3 interface endpoint the agent must use. */
  readonly s3InterfaceEndpoint: ec2.IInterfaceVpcEndpoint;
}

/** Stateful: bucket logical ids must never change. */
export class DataStack extends Stack {
  public readonly accessLogsBucket: s3.Bucket;
  public readonly landingBucket: s3.Bucket;
  public readonly curatedBucket: s3.Bucket;
  public readonly modelsBucket: s3.Bucket;
  public readonly captureBucket: s3.Bucket;
  /** ARN of the on-prem agent role (created by the on-prem access stack under a fixed name). */
  public readonly agentRoleArn: string;
  /**
   * Export name of the landing bucket ARN. Consumers import it by this fixed name, so IAM findings and
   * reviewers see `mlp-<env>-landing-bucket-arn/...` instead of a generated reference.
   */
  public readonly landingBucketArnExport: string;
  /** Export name of the models bucket ARN (same reason as the landing one). */
  public readonly modelsBucketArnExport: string;
  /** Export name of the curated bucket's ARN (retraining IAM statements import it by name). */
  public readonly curatedBucketArnExport: string;
  /** Export name of the capture bucket's ARN (the scorer's and the monitoring job's statements import it). */
  public readonly captureBucketArnExport: string;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { keys, retain } = props;
    this.accessLogsBucket = new SecureBucket(this, 'AccessLogs', {
      encryptionKey: keys.audit,
      isAccessLogBucket: true,
      retain,
    }).bucket;
    const logged = (prefix: string) => ({ bucket: this.accessLogsBucket, prefix });
    this.landingBucket = new SecureBucket(this, 'Landing', {
      encryptionKey: keys.landing,
      accessLogs: logged('landing'),
      retain,
    }).bucket;
    // Manifests landing start retraining through EventBridge (a bucket property: no notification custom resource).
    (this.landingBucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
      'NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled',
      true,
    );
    this.curatedBucket = new SecureBucket(this, 'Curated', {
      encryptionKey: keys.landing,
      accessLogs: logged('curated'),
      retain,
    }).bucket;
    // Athena's scratch (query results, unloaded training sets) is read once, by the execution that wrote it.
    this.curatedBucket.addLifecycleRule({
      id: 'expire-athena-scratch',
      prefix: curated.athenaPrefix,
      expiration: Duration.days(7),
      noncurrentVersionExpiration: Duration.days(1),
    });
    this.modelsBucket = new SecureBucket(this, 'Models', {
      encryptionKey: keys.models,
      accessLogs: logged('models'),
      retain,
    }).bucket;
    this.captureBucket = new SecureBucket(this, 'Capture', {
      encryptionKey: keys.capture,
      accessLogs: logged('capture'),
      retain,
    }).bucket;
    // Predictions with pseudonymous keys are kept as long as the quality job reads them (400 days), then go.
    this.captureBucket.addLifecycleRule({
      id: 'expire-captures',
      expiration: Duration.days(430),
      noncurrentVersionExpiration: Duration.days(1),
    });

    this.agentRoleArn = `arn:${this.partition}:iam::${this.account}:role/${agentRoleName(props.envName)}`;
    this.restrictLanding(keys.landing, props.s3InterfaceEndpoint);
    this.landingBucketArnExport = bucketArnExportName(props.envName, 'landing');
    new CfnOutput(this, 'LandingBucketArn', {
      value: this.landingBucket.bucketArn,
      exportName: this.landingBucketArnExport,
    });
    new CfnOutput(this, 'LandingBucketName', { value: this.landingBucket.bucketName });
    this.curatedBucketArnExport = bucketArnExportName(props.envName, 'curated');
    new CfnOutput(this, 'CuratedBucketArn', {
      value: this.curatedBucket.bucketArn,
      exportName: this.curatedBucketArnExport,
    });
    new CfnOutput(this, STACK_OUTPUTS.curatedBucket.output, { value: this.curatedBucket.bucketName });
    this.modelsBucketArnExport = bucketArnExportName(props.envName, 'models');
    new CfnOutput(this, 'ModelsBucketArn', {
      value: this.modelsBucket.bucketArn,
      exportName: this.modelsBucketArnExport,
    });
    this.captureBucketArnExport = bucketArnExportName(props.envName, 'capture');
    new CfnOutput(this, 'CaptureBucketArn', {
      value: this.captureBucket.bucketArn,
      exportName: this.captureBucketArnExport,
    });
    new CfnOutput(this, STACK_OUTPUTS.captureBucket.output, { value: this.captureBucket.bucketName });
  }

  private restrictLanding(landingKey: kms.IKey, endpoint: ec2.IInterfaceVpcEndpoint): void {
    const bucket = this.landingBucket;
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyAgentOutsideS3InterfaceEndpoint',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: [bucket.bucketArn, bucket.arnForObjects('*')],
        conditions: {
          ArnEquals: { 'aws:PrincipalArn': this.agentRoleArn },
          StringNotEquals: { 'aws:SourceVpce': endpoint.vpcEndpointId },
        },
      }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyPutWithoutKms',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('*')],
        conditions: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
      }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyPutWithOtherKey',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('*')],
        conditions: {
          StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': landingKey.keyArn },
        },
      }),
    );
  }
}
