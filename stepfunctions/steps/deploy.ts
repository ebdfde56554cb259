/**
 * The end of an execution: Deploy starts the canary; FinishDeploy judges it and, if it may, records the
 * promotion in three places (registry Approved, `live` alias wholly on the candidate, champion pointer);
 * RollBackDeploy, which every Deploy and FinishDeploy failure is caught into, brings all three back to the
 * previous champion; RecordRejection marks a candidate the Gate or an approver turned down. The champion keeps serving
 * unless FinishDeploy completes, and the three records agree after every path.
 *
 * Each of FinishDeploy, RollBackDeploy and RecordRejection ends by writing the version's model card (with its
 * final registry status and trail entries). A card that cannot be written fails the step with `ModelCardFailed`:
 * in FinishDeploy before the alias and pointer move, so a version is never promoted without its card (the
 * rollback then writes the Rejected card, or fails naming the card again).
 */
import { models, s3Uri } from '../../contracts/s3-layout';
import type { ArtifactStore } from '../artifact-store';
import { type ChampionPointer, readChampion } from '../champion';
import { type ApprovalTrail, stateMachinePrincipal, type TrailRecord } from '../governance/approval-trail';
import { decisionAfterRequest, describeEntry } from '../governance/approval-decision';
import { writeModelCard } from '../governance/model-card-writer';
import { modelVersionOf, type ModelRegistry } from '../model-registry';
import { championPointerUri, type RetrainingSettings } from '../retraining-settings';
import { approverProblem } from '../../contracts/registry-fields';
import { parseApprovalDecision } from '../retraining-outcome';
import type { CanaryHandle, ScorerDeployment } from '../scorer-deployment';
import { StepError } from '../step-error';
import { readDriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import type { Evaluation, TrainingOutcome } from './evaluate';
import type { GateDecision } from './gate';
import type { PreparedData } from './prepare';
import type { ValidatedExtract } from './validate-manifest';

/** What the execution knows when it reaches Deploy. */
export interface DeployInput {
  readonly validation: ValidatedExtract;
  readonly prepared: PreparedData;
  readonly training: TrainingOutcome;
  readonly evaluation: Evaluation;
  readonly registration: { readonly modelPackageArn: string };
  readonly gate: GateDecision;
  /** Prod only: the human decision. */
  readonly approval?: { readonly approver: string };
  readonly deployment?: DeploymentHandle;
  /** The failure Deploy or FinishDeploy was caught with (RollBackDeploy). */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

/** What Deploy hands on: the canary, and the champion pointer it replaces (null before the first promotion). */
export interface DeploymentHandle extends CanaryHandle {
  readonly previousChampion: ChampionPointer | null;
}

/** Dependencies of the deployment steps. */
export interface DeployDependencies {
  readonly store: ArtifactStore;
  readonly settings: RetrainingSettings;
  readonly registry: ModelRegistry;
  readonly scorer: ScorerDeployment;
  /** Where FinishDeploy records that a version went live. */
  readonly trail?: ApprovalTrail;
  readonly now?: () => Date;
}

/** Writes the version's model card, or fails the step with `ModelCardFailed` naming why. */
async function recordModelCard(
  deps: Pick<DeployDependencies, 'registry' | 'store' | 'settings' | 'trail' | 'now'>,
  modelPackageArn: string,
): Promise<void> {
  try {
    await writeModelCard(deps, modelPackageArn);
  } catch (error) {
    throw new StepError('ModelCardFailed', (error as Error).message);
  }
}

/** Where a version's serving copies live: the scorer may read `champion/` of the models bucket only. */
function servingUris(settings: RetrainingSettings, modelVersion: string) {
  const keys = models.servingKeys(settings.dataset, modelVersion);
  return {
    modelDataUrl: s3Uri(settings.buckets.models, keys.model),
    featureSpecUri: s3Uri(settings.buckets.models, keys.featureSpec),
    baselineUri: s3Uri(settings.buckets.models, keys.baseline),
  };
}

/** The candidate's baseline stamped with its version: the scorer counts drift only against its own model's. */
async function servedBaseline(store: ArtifactStore, baselineUri: string, modelVersion: string): Promise<string> {
  const baseline = readDriftBaseline(await store.get(baselineUri), baselineUri);
  return `${JSON.stringify({ ...baseline, modelVersion }, null, 2)}\n`;
}

/**
 * Who approved a version that needed a human decision (prod): the principal of the `approved` entry the approval
 * trail holds after the version's approval request, not the name the answer to the waiting task carried. Refused
 * (`ApprovalNotRecorded`) when the trail holds no such approval, and (`ApprovalInvalid`) when the registry would
 * refuse to record the approver, before any write: otherwise the model would serve while the registry's
 * UpdateModelPackage fails at the end. Without a trail (settings without an audit bucket) the answer's name stands.
 */
async function recordedApprover(
  trail: ApprovalTrail | undefined,
  input: Pick<DeployInput, 'approval'>,
  modelVersion: string,
): Promise<string | undefined> {
  if (!input.approval) return undefined;
  let approver = input.approval.approver;
  if (trail) {
    const decision = decisionAfterRequest(await trail.entries(), modelVersion);
    if (decision?.event !== 'approved') {
      throw new StepError(
        'ApprovalNotRecorded',
        `${modelVersion} was answered as approved, but the approval trail holds no approval after its request` +
          `${decision ? ` (it holds ${describeEntry(decision)})` : ''}: nothing is deployed`,
      );
    }
    approver = decision.principal.id;
  }
  const problem = approverProblem(approver);
  if (problem) throw new StepError('ApprovalInvalid', `${modelVersion}: ${problem}`);
  return approver;
}

/**
 * Deploy: copies the artifact, its spec and its drift baseline where the scorer reads, then the new version
 * takes the canary share.
 */
export function deployStep({ store, settings, scorer, trail }: DeployDependencies) {
  return async (input: DeployInput): Promise<DeploymentHandle> => {
    const modelVersion = modelVersionOf(input.registration.modelPackageArn);
    await recordedApprover(trail, input, modelVersion);
    const previousChampion = (await readChampion(store, settings)) ?? null;
    const serving = servingUris(settings, modelVersion);
    await store.put(serving.modelDataUrl, await store.get(input.training.modelDataUrl));
    await store.put(serving.featureSpecUri, await store.get(input.prepared.featureSpecUri));
    // An execution evaluated before baselines travelled with the model has none: it deploys without one.
    const { baselineUri, ...files } = serving;
    const evaluated = input.evaluation.baselineUri as string | undefined;
    if (evaluated) await store.put(baselineUri, await servedBaseline(store, evaluated, modelVersion));
    const canary = await scorer.startCanary({
      modelVersion,
      ...files,
      ...(evaluated ? { baselineUri } : {}),
      modelSha256: input.evaluation.modelSha256,
    });
    return { ...canary, previousChampion };
  };
}

/**
 * FinishDeploy: judges the canary on its own traffic and the scorer's alarms, then records the promotion:
 * registry first (the write AWS may still refuse), then the alias, then the champion pointer. The pointer goes
 * last because the version CloudFormation installed follows it: written before the alias moved, containers of
 * that version starting in between would load the candidate and keep it through a rollback. Every write is
 * idempotent, so a retried FinishDeploy converges; a failure at any point is caught into RollBackDeploy.
 */
export function finishDeployStep(deps: DeployDependencies) {
  const { store, settings, registry, scorer, trail, now = () => new Date() } = deps;
  return async (input: DeployInput): Promise<{ modelVersion: string; champion: true }> => {
    const handle = input.deployment;
    if (!handle) throw new Error('the execution has no deployment: Deploy did not complete');
    const modelVersion = modelVersionOf(input.registration.modelPackageArn);
    const approver = await recordedApprover(trail, input, modelVersion);
    const problems = await scorer.canaryProblems(handle);
    if (problems.length > 0) throw new StepError('CanaryRolledBack', `${modelVersion}: ${problems.join('; ')}`);
    // Recorded before the writes that make it the champion: one that fails is rolled back, and recorded so.
    await trail?.append(
      {
        environment: settings.envName,
        modelVersion,
        event: 'deployed',
        principal: stateMachinePrincipal(settings.envName),
        reason: 'passed the promotion gate and its canary',
        details: {
          modelPackageArn: input.registration.modelPackageArn,
          ...(approver ? { approver } : {}),
        },
      },
      { once: true },
    );
    await registry.decide(
      input.registration.modelPackageArn,
      'Approved',
      ['passed the promotion gate and its canary'],
      approver ?? 'promotion-gate',
    );
    await recordModelCard(deps, input.registration.modelPackageArn);
    const { baselineUri, ...files } = servingUris(settings, modelVersion);
    const pointer: ChampionPointer = {
      modelVersion,
      ...files,
      ...((input.evaluation.baselineUri as string | undefined) ? { baselineUri } : {}),
      modelSha256: input.evaluation.modelSha256,
      datasetVersion: input.prepared.datasetVersion,
      trainingJobName: input.training.trainingJobName,
      metrics: input.evaluation.candidate,
      deployedAt: now().toISOString(),
    };
    await scorer.complete(handle);
    await store.put(championPointerUri(settings), championPointerText(pointer));
    return { modelVersion, champion: true };
  };
}

/**
 * RollBackDeploy: after Deploy or FinishDeploy failed (the canary judged, or a write refused), puts back what
 * serves first — the alias on the previous version (after a Deploy that failed part-way: whatever canary share
 * it set, taken off) — then the previous champion pointer (none before the first promotion), then marks the
 * candidate Rejected with the failure. Each write is idempotent and each is made whatever the failed step got
 * to, so the three records name the previous champion when it returns; the state retries a RollbackFailed.
 */
export function rollBackDeployStep(deps: DeployDependencies) {
  const { store, settings, registry, scorer, trail } = deps;
  return async (input: DeployInput): Promise<{ rolledBack: true; modelVersion: string; reason: string }> => {
    const handle = input.deployment;
    const modelVersion = modelVersionOf(input.registration.modelPackageArn);
    const failure = failureOf(input.error);
    const reason = `deployment rolled back: ${failure}`;
    try {
      if (handle) await scorer.rollback(handle);
      else await scorer.abandonCanary();
      const pointerUri = championPointerUri(settings);
      const current = await readChampion(store, settings);
      if (handle && current?.modelVersion === modelVersion) {
        if (handle.previousChampion) await store.put(pointerUri, championPointerText(handle.previousChampion));
        else await store.delete(pointerUri);
      }
      // An approver the trail does not hold, or the registry would refuse, is left out rather than failing the
      // rollback.
      const approver = await recordedApprover(trail, input, modelVersion).catch(() => undefined);
      await registry.decide(input.registration.modelPackageArn, 'Rejected', [reason], approver);
    } catch (error) {
      const message =
        `rolling back ${modelVersion} after ${failure} failed, so its alias, champion pointer and registry ` +
        `status may disagree: ${(error as Error).message}`;
      throw new StepError('RollbackFailed', message);
    }
    // Recorded once the three records agree again; a trail that cannot take it is named as such, not as a
    // failed rollback.
    try {
      await trail?.append(
        {
          environment: settings.envName,
          modelVersion,
          event: 'rolled-back',
          principal: stateMachinePrincipal(settings.envName),
          reason,
        },
        { once: true },
      );
    } catch (error) {
      throw new StepError(
        'TrailUnavailable',
        `${modelVersion} was rolled back (alias, champion pointer and registry agree) but the approval trail did ` +
          `not take the record: ${(error as Error).message}`,
      );
    }
    await recordModelCard(deps, input.registration.modelPackageArn);
    return { rolledBack: true, modelVersion, reason };
  };
}

function championPointerText(pointer: ChampionPointer): string {
  return `${JSON.stringify(pointer, null, 2)}\n`;
}

/** One line naming a caught failure: its error name and message (a Lambda error's Cause is JSON). */
function failureOf(error: DeployInput['error']): string {
  if (!error) return 'no error was recorded';
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // a plain-text cause
  }
  return `${error.Error ?? 'Error'}: ${message}`.replace(/\s+/g, ' ').slice(0, 900);
}

/**
 * RecordRejection: the Gate or the approver said no; the champion keeps serving. An approver's rejection is
 * recorded with the principal and reason of the `rejected` entry the trail holds after the request (where there is
 * a trail); the failure's cause (who and why, as the answer to the waiting task gave them) only without one. A
 * rejection the trail does not hold (the waiting task failed by a caller who read its token, around
 * `mlp approve`) is recorded without an approver, and the trail records it as the state machine's: the name the
 * answer carried is typed, not authenticated. The output names whom the registry recorded.
 */
export function recordRejectionStep(
  deps: Pick<DeployDependencies, 'registry' | 'store' | 'settings' | 'trail' | 'now'>,
) {
  const { registry, trail, settings } = deps;
  return async (
    input: Pick<DeployInput, 'registration' | 'gate'> & { approvalError?: { Cause?: string } },
  ): Promise<{ promoted: false; reasons: string[]; reason?: string; approver?: string }> => {
    const arn = input.registration.modelPackageArn;
    if (!input.approvalError) {
      await registry.decide(arn, 'Rejected', input.gate.reasons);
      await recordModelCard(deps, arn);
      return { promoted: false, reasons: input.gate.reasons };
    }
    let decision = parseApprovalDecision(input.approvalError.Cause);
    let unrecorded: TrailRecord | undefined;
    if (trail) {
      const modelVersion = modelVersionOf(arn);
      const recorded = decisionAfterRequest(await trail.entries(), modelVersion);
      if (recorded?.event === 'rejected') {
        // Nobody answering is recorded by the state machine itself: no approver then.
        const human = recorded.principal.kind !== 'state-machine';
        decision = { ...(human ? { approver: recorded.principal.id } : {}), reason: recorded.reason ?? '' };
      } else {
        const reason =
          'the waiting task was failed outside mlp approve: the approval trail holds no rejection' +
          `${recorded ? ` (it holds ${describeEntry(recorded)})` : ''}, so no approver is recorded ` +
          "(CloudTrail's SendTaskFailure event names the caller)";
        decision = { reason };
        unrecorded = {
          environment: settings.envName,
          modelVersion,
          event: 'rejected',
          principal: stateMachinePrincipal(settings.envName),
          reason,
          details: { modelPackageArn: arn },
        };
      }
    }
    const reasons = [`approval declined${decision.approver ? ` by ${decision.approver}` : ''}: ${decision.reason}`];
    const approver = decision.approver && !approverProblem(decision.approver) ? decision.approver : undefined;
    await registry.decide(arn, 'Rejected', reasons, approver);
    if (unrecorded) await trail?.append(unrecorded, { once: true });
    await recordModelCard(deps, arn);
    return { promoted: false, reasons, reason: decision.reason, ...(approver ? { approver } : {}) };
  };
}
