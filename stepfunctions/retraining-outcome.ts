/**
 * What a retraining execution came to, read from how it ended (status, final state output, error), the same for
 * a local run and a deployed one: Promoted (the candidate serves), NotPromoted (the gate said no, with its
 * reasons), Rejected (an approver said no, with who and why) or Failed (a named error). Also the one format of a
 * human approval decision, which `mlp approve`, the local runner and RecordRejection share.
 */
import type { ModelMetrics } from './model-metrics';

/** How an execution ended. */
export type RetrainingOutcome =
  | {
      readonly outcome: 'Promoted';
      readonly modelVersion: string;
      readonly metrics: ModelMetrics;
      readonly approver?: string;
    }
  | {
      readonly outcome: 'NotPromoted';
      readonly modelVersion: string;
      readonly metrics: ModelMetrics;
      readonly reasons: readonly string[];
    }
  | {
      readonly outcome: 'Rejected';
      readonly modelVersion: string;
      readonly metrics: ModelMetrics;
      /** Who declined; absent when nobody answered (a local run given no approver). */
      readonly approver?: string;
      readonly reason: string;
    }
  | { readonly outcome: 'Failed'; readonly error: string; readonly cause: string };

/** The final state of a succeeded execution, as far as the outcome needs it. */
interface FinalState {
  readonly evaluation?: { readonly candidate?: ModelMetrics };
  readonly registration?: { readonly modelPackageArn?: string };
  readonly gate?: { readonly promote?: boolean; readonly reasons?: readonly string[] };
  readonly approval?: { readonly approver?: string };
  readonly approvalError?: { readonly Error?: string; readonly Cause?: string };
  readonly decision?: { readonly reasons?: readonly string[]; readonly reason?: string; readonly approver?: string };
  readonly deployed?: { readonly modelVersion?: string };
}

/** The outcome of an execution that ended with `status`. */
export function retrainingOutcome(
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED',
  output: unknown,
  error?: { readonly name?: string; readonly cause?: string },
): RetrainingOutcome {
  if (status !== 'SUCCEEDED') {
    return {
      outcome: 'Failed',
      error: error?.name || (status === 'FAILED' ? 'RetrainingFailed' : status),
      cause: error?.cause || `the execution ended ${status}`,
    };
  }
  const final = (output ?? {}) as FinalState;
  const arn = final.registration?.modelPackageArn ?? '';
  const modelVersion = /:model-package\/(.+\/\d+)$/.exec(arn)?.[1] ?? arn;
  const metrics = final.evaluation?.candidate as ModelMetrics;
  if (final.deployed) {
    const approver = final.approval?.approver;
    return { outcome: 'Promoted', modelVersion, metrics, ...(approver ? { approver } : {}) };
  }
  if (final.approvalError) {
    // Whom RecordRejection recorded (the trail's principal) over the name the task's answer carried.
    const recorded = final.decision?.reason !== undefined ? final.decision : undefined;
    const decision = recorded
      ? { approver: recorded.approver, reason: recorded.reason! }
      : parseApprovalDecision(final.approvalError.Cause);
    return {
      outcome: 'Rejected',
      modelVersion,
      metrics,
      ...(decision.approver ? { approver: decision.approver } : {}),
      reason: decision.reason,
    };
  }
  return {
    outcome: 'NotPromoted',
    modelVersion,
    metrics,
    reasons: final.decision?.reasons ?? final.gate?.reasons ?? [],
  };
}

/** A human decision on a candidate, as it travels in the ApprovalRejected error's Cause (JSON). */
export interface ApprovalDecision {
  readonly approver?: string;
  readonly reason: string;
}

/** Largest Cause Step Functions keeps (SendTaskFailure allows 32,768 characters). */
const MAX_CAUSE = 32_768;

/** The Cause of an `ApprovalRejected` task failure, within Step Functions' limit (a long reason is shortened). */
export function approvalRejectionCause(decision: ApprovalDecision): string {
  const approver = decision.approver ? { approver: decision.approver.slice(0, 256) } : {};
  let reason = decision.reason;
  let cause = JSON.stringify({ ...approver, reason });
  while (cause.length > MAX_CAUSE) {
    reason = `${reason.slice(0, Math.floor(reason.length * 0.9))}…`;
    cause = JSON.stringify({ ...approver, reason });
  }
  return cause;
}

/** Reads an ApprovalRejected Cause; a Cause that is not this JSON is kept whole as the reason. */
export function parseApprovalDecision(cause: string | undefined): ApprovalDecision {
  if (!cause) return { reason: 'no reason given' };
  try {
    const parsed = JSON.parse(cause) as { approver?: unknown; reason?: unknown };
    if (parsed && typeof parsed === 'object' && typeof parsed.reason === 'string') {
      return typeof parsed.approver === 'string' && parsed.approver
        ? { approver: parsed.approver, reason: parsed.reason }
        : { reason: parsed.reason };
    }
  } catch {
    // not JSON: a free-text cause
  }
  return { reason: cause };
}
