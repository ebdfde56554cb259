/**
 * The audit trail: a multi-region CloudTrail with management events and S3 data events on the landing,
 * curated and models buckets, log file validation, KMS encryption, delivered to a dedicated audit bucket
 * (Object Lock where configured) and to an encrypted CloudWatch log group for alerting. The audit bucket also
 * holds the approval trail (`approvals/<env>/`).
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { bucketArnExportName, STACK_OUTPUTS } from '../../contracts/resource-names';
import { audit } from '../../contracts/s3-layout';
import { acknowledge, INLINE_POLICY } from '../compliance/acknowledge';
import { SecureBucket } from '../constructs/secure-bucket';

/** Properties of {@link AuditStack}. */
export interface AuditStackProps extends StackProps {
  readonly envName: string;
  readonly auditKey: kms.IKey;
  readonly accessLogsBucket: s3.IBucket;
  /** Buckets whose object-level reads and writes are recorded. */
  readonly dataEventBuckets: readonly s3.IBucket[];
  readonly logRetentionDays: number;
  readonly retain: boolean;
  /** WORM retention of the audit bucket. @default none */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly retentionDays: number };
}

/** Stateful: the audit bucket's logical id must never change. */
export class AuditStack extends Stack {
  public readonly auditBucket: s3.Bucket;
  /** Export name of the audit bucket's ARN (the retraining steps' grants on the approval trail import it). */
  public readonly auditBucketArnExport: string;
  public readonly trail: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: AuditStackProps) {
    super(scope, id, props);
    this.auditBucket = new SecureBucket(this, 'AuditLogs', {
      encryptionKey: props.auditKey,
      accessLogs: { bucket: props.accessLogsBucket, prefix: 'audit' },
      retain: props.retain,
      objectLock: props.objectLock,
    }).bucket;

    // `mlp audit --env` reads the approval trail here (contracts/s3-layout.ts `audit`).
    new CfnOutput(this, STACK_OUTPUTS.auditBucket.output, { value: this.auditBucket.bucketName });
    this.auditBucketArnExport = bucketArnExportName(props.envName, 'audit');
    new CfnOutput(this, 'AuditBucketArn', { value: this.auditBucket.bucketArn, exportName: this.auditBucketArnExport });

    const trailLogGroup = new logs.LogGroup(this, 'TrailLogGroup', {
      encryptionKey: props.auditKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.auditBucket,
      encryptionKey: props.auditKey,
      enableFileValidation: true,
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: true,
      managementEvents: cloudtrail.ReadWriteType.ALL,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: trailLogGroup,
    });
    this.trail.addS3EventSelector(
      props.dataEventBuckets.map((bucket) => ({ bucket })),
      { readWriteType: cloudtrail.ReadWriteType.ALL, includeManagementEvents: false },
    );
    // Who wrote each approval-trail entry, recorded by CloudTrail itself (only that prefix: not the trail's own
    // deliveries to this bucket).
    this.trail.addS3EventSelector(
      [{ bucket: this.auditBucket, objectPrefix: audit.approvalTrailPrefix(props.envName) }],
      {
        readWriteType: cloudtrail.ReadWriteType.WRITE_ONLY,
        includeManagementEvents: false,
      },
    );
    acknowledge(
      this.trail.node.findChild('LogsRole').node.findChild('DefaultPolicy'),
      INLINE_POLICY,
      'CDK-generated policy of the CloudTrail delivery role: logs:CreateLogStream/PutLogEvents on the one trail log ' +
        'group only. Inline keeps it deleted with the role; no other principal uses it.',
    );
  }
}
