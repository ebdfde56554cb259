/**
 * The one bucket shape the platform uses: private, versioned, SSE-KMS with a data-class key, TLS 1.2+ only,
 * access-logged, and cleaned of abandoned multipart uploads. Secure defaults live here and nowhere else.
 */
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Days after which S3 aborts an incomplete multipart upload (and frees its parts). */
export const ABORT_MULTIPART_AFTER_DAYS = 7;

/** Properties of {@link SecureBucket}. */
export interface SecureBucketProps {
  /** Customer-managed key of the bucket's data class; every object is encrypted with it. */
  readonly encryptionKey: kms.IKey;
  /**
   * Bucket receiving this bucket's server access logs, under `<prefix>/`. Required unless `isAccessLogBucket`.
   * @default none
   */
  readonly accessLogs?: { readonly bucket: s3.IBucket; readonly prefix: string };
  /**
   * Marks the access-log destination itself, which cannot log to itself without recursion.
   * @default false
   */
  readonly isAccessLogBucket?: boolean;
  /** Keep the bucket and its objects when the stack is deleted. */
  readonly retain: boolean;
  /**
   * Object Lock default retention (WORM). Enabling it is irreversible for the bucket.
   * @default no Object Lock
   */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly retentionDays: number };
}

/** An S3 bucket with the platform's mandatory controls applied. */
export class SecureBucket extends Construct {
  /** The underlying bucket. */
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    if (!props.accessLogs && !props.isAccessLogBucket) {
      throw new Error(`SecureBucket ${this.node.path}: accessLogs is required unless isAccessLogBucket is set`);
    }
    if (props.accessLogs && props.isAccessLogBucket) {
      throw new Error(`SecureBucket ${this.node.path}: the access-log bucket cannot log to another bucket`);
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogs ? logTarget(this, props.accessLogs.bucket) : undefined,
      serverAccessLogsPrefix: props.accessLogs ? `${props.accessLogs.prefix}/` : undefined,
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart',
          abortIncompleteMultipartUploadAfter: Duration.days(ABORT_MULTIPART_AFTER_DAYS),
        },
      ],
      objectLockEnabled: props.objectLock ? true : undefined,
      objectLockDefaultRetention: props.objectLock
        ? props.objectLock.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(Duration.days(props.objectLock.retentionDays))
          : s3.ObjectLockRetention.governance(Duration.days(props.objectLock.retentionDays))
        : undefined,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    if (props.accessLogs) {
      Annotations.of(this.bucket).acknowledgeWarning(
        '@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
        'The access-log destination grants logging.s3.amazonaws.com delivery for this account itself',
      );
    }
    if (props.isAccessLogBucket) {
      // One delivery grant for every source bucket of this account, instead of CDK's per-source statements
      // (which carry no condition for sources in other stacks).
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'S3ServerAccessLogDelivery',
          principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects('*')],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    }
  }
}

/**
 * The access-log destination as seen by a source bucket: a reference without its key or policy, so CDK adds
 * neither an unconditioned key grant nor a per-source statement (the destination grants delivery itself).
 */
function logTarget(scope: Construct, destination: s3.IBucket): s3.IBucket {
  return s3.Bucket.fromBucketAttributes(scope, 'AccessLogDestination', {
    bucketArn: destination.bucketArn,
    bucketName: destination.bucketName,
  });
}
