/**
 * The compliance findings the platform accepts across stacks. Every other acknowledgement sits beside the
 * resource it concerns (see `acknowledge` in ./acknowledge.ts); this file keeps only the decisions that hold
 * for resources of several stacks alike.
 */
import type { PlatformStage } from '../platform-stage';
import { acknowledge } from './acknowledge';

const REPLICATION = ['NIST.800.53.R5-S3BucketReplicationEnabled', 'PCI.DSS.321-S3BucketReplicationEnabled'];

/** Records the platform-wide acknowledged findings on a stage's resources: data residency of every bucket. */
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
}
