/**
 * The approval trail of a local environment: the same chained, create-only entries as in AWS
 * (stepfunctions/governance/approval-trail.ts), as files under `$MLP_HOME/s3/mlp-local-<env>-audit/approvals/<env>/`,
 * each written once and left read-only. Who decided locally is the operating-system account running the command.
 */
import { userInfo } from 'node:os';
import { ApprovalTrail, type TrailPrincipal } from '../stepfunctions/governance/approval-trail';
import { LocalArtifactStore } from './local-artifact-store';
import { approvalTrailUri } from '../stepfunctions/retraining-settings';
import { localBuckets, localLayout } from './local-home';

/** The environment's approval trail under the home (its local twin's audit bucket). */
export function localApprovalTrail(home: string, envName: string, now?: () => Date): ApprovalTrail {
  const store = new LocalArtifactStore(localLayout(home, envName).objects);
  return new ApprovalTrail(store, approvalTrailUri({ envName, buckets: localBuckets(envName) })!, now);
}

/** The local principal: the operating-system account (the identity this machine authenticated). */
export function localPrincipal(): TrailPrincipal {
  return { kind: 'os-user', id: userInfo().username };
}
