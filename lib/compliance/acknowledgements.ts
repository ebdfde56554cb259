/**
 * Every compliance finding the platform accepts, each acknowledged on the one resource it concerns with the
 * reason a security reviewer needs. Nothing is acknowledged at stack or stage level.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { landingPrefix } from '../naming';
import type { PlatformStage } from '../platform-stage';

/** Acknowledges `ruleIds` on `construct` (and its children) with one reason. */
export function acknowledge(construct: IConstruct, ruleIds: readonly string[], reason: string): void {
  for (const id of ruleIds) Validations.of(construct).acknowledge({ id, reason });
}

const REPLICATION = ['NIST.800.53.R5-S3BucketReplicationEnabled', 'PCI.DSS.321-S3BucketReplicationEnabled'];
const INLINE_POLICY = ['NIST.800.53.R5-IAMNoInlinePolicy', 'PCI.DSS.321-IAMNoInlinePolicy'];

/** Records the platform's acknowledged findings on a stage's resources. */
export function acknowledgeFindings(stage: PlatformStage): void {
  const region = stage.region ?? 'the configured region';
  const buckets = [
    stage.data.landingBucket,
    stage.data.curatedBucket,
    stage.data.modelsBucket,
    stage.data.captureBucket,
    stage.data.accessLogsBucket,
    stage.audit.auditBucket,
  ];
  for (const bucket of buckets) {
    acknowledge(
      bucket,
      REPLICATION,
      `Kept in ${region} only: customer-derived data must not leave the bank's chosen region (data residency). ` +
        'Durability comes from S3 (11 nines), versioning and RETAIN outside dev; cross-region replication ' +
        'needs a second-region key and bucket and is left to the bank disaster-recovery design.',
    );
  }

  const flowLogPolicy = stage.network.vpc.node
    .findChild('FlowLog')
    .node.findChild('IAMRole')
    .node.findChild('DefaultPolicy');
  acknowledge(
    flowLogPolicy,
    INLINE_POLICY,
    'CDK-generated policy of the VPC flow-log delivery role: logs:CreateLogStream/DescribeLogStreams/PutLogEvents ' +
      'on the one flow-log group only. Inline keeps it deleted with the role; no other principal uses it.',
  );
  const trailLogsPolicy = stage.audit.trail.node.findChild('LogsRole').node.findChild('DefaultPolicy');
  acknowledge(
    trailLogsPolicy,
    INLINE_POLICY,
    'CDK-generated policy of the CloudTrail delivery role: logs:CreateLogStream/PutLogEvents on the one trail log ' +
      'group only. Inline keeps it deleted with the role; no other principal uses it.',
  );

  const exportName = stage.data.landingBucketArnExport;
  for (const dataset of stage.onPremAccess.datasets) {
    acknowledge(
      stage.onPremAccess.agentPolicy,
      [`AwsSolutions-IAM5[Resource::${exportName}/${landingPrefix(dataset)}*]`],
      `The agent writes one object per extract part under landing/${dataset}/<run-id>/ with keys it generates at ` +
        'run time; the wildcard is confined to that dataset prefix of the landing bucket, for s3:PutObject and ' +
        's3:GetObject (read-back on resume) only.',
    );
  }
}
