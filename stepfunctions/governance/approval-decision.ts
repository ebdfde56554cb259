/**
 * The human decision on a candidate waiting at Approve, as the approval trail holds it. A version waits when its
 * latest trail entry is an `approval-requested` one; `mlp approve` records `approved` or `rejected` after it under
 * the caller's authenticated identity (an IAM ARN in AWS, the operating-system account locally), and only then
 * answers the waiting execution; Deploy refuses to ship a version without that `approved` entry and takes the
 * approver from it, so the identity the registry records is the trail's, never a name typed into a payload.
 */
import type { ApprovalTrail, TrailEntry, TrailPrincipal } from './approval-trail';

/** A decision for a version that is not waiting for one. */
export class NotWaitingForApproval extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotWaitingForApproval';
  }
}

/** `#12 approved by iam arn:… at 2026-12-03T10:00:00.000Z`. */
export function describeEntry(entry: TrailEntry): string {
  return `#${entry.sequence} ${entry.event} by ${entry.principal.kind} ${entry.principal.id} at ${entry.at}`;
}

/**
 * The approval request `modelVersion` waits on: its latest entry, when that is `approval-requested`. Throws
 * {@link NotWaitingForApproval} naming why not: no entry for the version, or what its latest entry says.
 */
export function waitingRequest(entries: readonly TrailEntry[], modelVersion: string, envName: string): TrailEntry {
  const about = entries.filter((e) => e.modelVersion === modelVersion);
  const last = about.at(-1);
  if (!last) {
    throw new NotWaitingForApproval(
      `${modelVersion} has no entry in ${envName}'s approval trail: no such version, or it never reached the gate ` +
        `(mlp models lists the versions)`,
    );
  }
  if (last.event !== 'approval-requested') {
    throw new NotWaitingForApproval(
      `${modelVersion} is not waiting for approval: its latest entry is ${describeEntry(last)}`,
    );
  }
  return last;
}

/** The human decision recorded after the version's latest approval request, if there is one yet. */
export function decisionAfterRequest(entries: readonly TrailEntry[], modelVersion: string): TrailEntry | undefined {
  const about = entries.filter((e) => e.modelVersion === modelVersion);
  const requested = about.findLastIndex((e) => e.event === 'approval-requested');
  if (requested < 0) return undefined;
  return about.slice(requested + 1).find((e) => e.event === 'approved' || e.event === 'rejected');
}

/** A human decision to record. */
export interface ApprovalDecision {
  readonly approve: boolean;
  readonly principal: TrailPrincipal;
  /** Why: required for both answers (the trail says why a model went live as well as why not). */
  readonly reason: string;
}

/**
 * Appends the decision after the version's waiting request; refused with {@link NotWaitingForApproval} when it no
 * longer waits, checked again on the entries the append goes after (two approvers racing: the first decides).
 */
export function recordApprovalDecision(
  trail: ApprovalTrail,
  envName: string,
  modelVersion: string,
  decision: ApprovalDecision,
): Promise<TrailEntry> {
  return trail.append((entries) => {
    const request = waitingRequest(entries, modelVersion, envName);
    const { modelPackageArn, execution } = request.details ?? {};
    return {
      environment: envName,
      modelVersion,
      event: decision.approve ? 'approved' : 'rejected',
      principal: decision.principal,
      reason: decision.reason,
      details: {
        ...(modelPackageArn ? { modelPackageArn } : {}),
        ...(execution ? { execution } : {}),
        request: request.sequence,
      },
    };
  });
}
