/**
 * Local runs that wait at Approve (`mlp retrain --local prod --wait-for-approval`) for a decision another command
 * (`mlp approve VERSION --local prod`) records in the environment's approval trail. A waiting run leaves a marker
 * under `$MLP_HOME/approvals-waiting/<env>/` naming its process, so a decision for a version whose run has ended
 * is refused instead of being recorded for nobody to act on.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApprovalTrail, TrailEntry } from '../stepfunctions/governance/approval-trail';
import {
  type ApprovalDecision,
  decisionAfterRequest,
  NotWaitingForApproval,
  recordApprovalDecision,
  waitingRequest,
} from '../stepfunctions/governance/approval-decision';

/** What a waiting run leaves behind. */
interface WaitingMarker {
  readonly pid: number;
  readonly execution: string;
  readonly since: string;
}

function markerPath(home: string, envName: string, modelVersion: string): string {
  return join(home, 'approvals-waiting', envName, `${modelVersion.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * Waits until the trail holds a decision after `modelVersion`'s approval request, polling every `pollMs`; the
 * marker is there while it waits. Rejects when `signal` aborts.
 */
export async function awaitLocalDecision(
  trail: ApprovalTrail,
  where: { readonly home: string; readonly envName: string; readonly execution: string },
  modelVersion: string,
  options: { readonly pollMs?: number; readonly signal?: AbortSignal } = {},
): Promise<TrailEntry> {
  const path = markerPath(where.home, where.envName, modelVersion);
  mkdirSync(join(path, '..'), { recursive: true });
  const marker: WaitingMarker = { pid: process.pid, execution: where.execution, since: new Date().toISOString() };
  writeFileSync(path, `${JSON.stringify(marker)}\n`);
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const decision = decisionAfterRequest(await trail.entries(), modelVersion);
      if (decision) return decision;
      await new Promise((done) => setTimeout(done, options.pollMs ?? 500));
    }
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Records a decision on a version a live local run waits for. Refused with {@link NotWaitingForApproval} when the
 * trail says it does not wait (no such version, already decided, never asked) or the run that asked has ended.
 */
export async function decideLocally(
  trail: ApprovalTrail,
  where: { readonly home: string; readonly envName: string },
  modelVersion: string,
  decision: ApprovalDecision,
): Promise<TrailEntry> {
  waitingRequest(await trail.entries(), modelVersion, where.envName);
  let marker: WaitingMarker | undefined;
  try {
    marker = JSON.parse(readFileSync(markerPath(where.home, where.envName, modelVersion), 'utf8')) as WaitingMarker;
  } catch {
    marker = undefined;
  }
  if (!marker || !alive(marker.pid)) {
    throw new NotWaitingForApproval(
      `${modelVersion} is not waiting for approval: the run that asked ${marker ? `(pid ${marker.pid}) ` : ''}has ended ` +
        `without a decision; retrain again with mlp retrain --local ${where.envName} --wait-for-approval`,
    );
  }
  return recordApprovalDecision(trail, where.envName, modelVersion, decision);
}
