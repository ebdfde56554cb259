/**
 * `mlp audit [--local ENV | --env ENV] [--json]`: prints an environment's approval trail — every gate decision,
 * approval request, human decision and deployment, who made it and why — and verifies its chain. A trail that
 * does not verify (an entry changed, removed or reordered, or an entry the registry anchored no longer there) is
 * printed with what breaks, and the command fails.
 */
import { loadEnvironment } from '../../config';
import { localApprovalTrail } from '../../local/local-approval-trail';
import { mlpHome } from '../../local/local-home';
import { S3ArtifactStore } from '../../stepfunctions/artifact-store';
import { approvalTrailUri } from '../../stepfunctions/retraining-settings';
import { ApprovalTrail, type TrailEntry, verifyTrail } from '../../stepfunctions/governance/approval-trail';
import { ReportedOutcome } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { targetOf, type TargetOptions } from '../commands/options';
import { anchorProblems } from '../../stepfunctions/governance/trail-anchor';
import { sdkErrorSummary } from '../../stepfunctions/sdk-error';
import { stackOutput } from './aws-stack';
import { registryView } from './registry';

/** Options of `mlp audit`. */
export interface AuditOptions extends TargetOptions {
  readonly json?: boolean;
}

/** The trail of the command's target. */
export async function targetTrail(options: TargetOptions): Promise<{ environment: string; trail: ApprovalTrail }> {
  const target = targetOf(options);
  const config = loadEnvironment(target.env);
  if (target.kind === 'local') return { environment: config.name, trail: localApprovalTrail(mlpHome(), config.name) };
  const bucket = await stackOutput(config.name, 'auditBucket', config.region);
  const store = new S3ArtifactStore({ region: config.region });
  return {
    environment: config.name,
    trail: new ApprovalTrail(store, approvalTrailUri({ envName: config.name, buckets: { audit: bucket } })!),
  };
}

/** `mlp audit`. */
export async function audit(options: AuditOptions): Promise<void> {
  const { environment, trail } = await targetTrail(options);
  const entries = await trail.read();
  // The chain, then the anchors the registry recorded of it (./trail-anchor.ts): a trail cut off or re-chained
  // below an anchor verifies as a chain, and not against the registry.
  const anchors = await registryView(targetOf(options)).then(
    (view) => anchorProblems(entries, view.versions),
    (error: unknown) => ({
      problems: [`the registry's anchors of the trail cannot be read, so they are not checked: ${reason(error)}`],
      checked: 0,
    }),
  );
  const problems = [...verifyTrail(entries), ...anchors.problems];
  const head = (entries.at(-1) as Partial<TrailEntry> | undefined)?.hash ?? null;
  new CommandOutput(options).result(
    {
      environment,
      verified: problems.length === 0,
      problems,
      entries: entries.length,
      head,
      anchors: anchors.checked,
      trail: entries,
    },
    {
      human: () =>
        [
          ...entries.map((raw) => describe(raw)),
          problems.length === 0
            ? `${environment}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}; the chain holds` +
              (head ? ` (head ${head.slice(0, 12)})` : '') +
              (anchors.checked ? `; the registry's ${anchors.checked} anchor(s) of it hold` : '')
            : `${environment}: the trail does NOT verify:\n${problems.map((p) => `  ${p}`).join('\n')}`,
        ].join('\n'),
    },
  );
  if (problems.length > 0) throw new ReportedOutcome(1, 'the approval trail does not verify');
}

function reason(error: unknown): string {
  return sdkErrorSummary(error) ?? (error as Error)?.message ?? String(error);
}

function describe(raw: unknown): string {
  const e = raw as Partial<TrailEntry>;
  if (!e || typeof e !== 'object' || typeof e.event !== 'string') return '  (not a trail entry)';
  const who = e.principal ? `${e.principal.kind}:${e.principal.id}` : 'nobody';
  return `#${e.sequence} ${e.at} ${e.modelVersion} ${e.event} by ${who}${e.reason ? `: ${e.reason}` : ''}`;
}
