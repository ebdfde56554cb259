/**
 * The end of an execution: Deploy starts the canary, FinishDeploy completes it (champion pointer written,
 * version Approved) or rolls it back when the scorer's alarms fire; RecordRejection marks a candidate the
 * Gate turned down. The champion keeps serving unless FinishDeploy completes.
 */
import { models, s3Uri } from '../../contracts/s3-layout';
import type { ArtifactStore } from '../artifact-store';
import type { ChampionPointer } from '../champion';
import { modelVersionOf, type ModelRegistry } from '../model-registry';
import { championPointerUri, type RetrainingSettings } from '../retraining-settings';
import { approverProblem } from '../../contracts/registry-fields';
import { parseApprovalDecision } from '../retraining-outcome';
import type { CanaryHandle, ScorerDeployment } from '../scorer-deployment';
import { StepError } from '../step-error';
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
  readonly deployment?: CanaryHandle;
}

/** Dependencies of the deployment steps. */
export interface DeployDependencies {
  readonly store: ArtifactStore;
  readonly settings: RetrainingSettings;
  readonly registry: ModelRegistry;
  readonly scorer: ScorerDeployment;
  readonly now?: () => Date;
}

/** Where a version's serving copies live: the scorer may read `champion/` of the models bucket only. */
function servingUris(settings: RetrainingSettings, modelVersion: string) {
  const keys = models.servingKeys(settings.dataset, modelVersion);
  return {
    modelDataUrl: s3Uri(settings.buckets.models, keys.model),
    featureSpecUri: s3Uri(settings.buckets.models, keys.featureSpec),
  };
}

/**
 * Refuses an approver the registry would refuse to record, before any write: otherwise the model would serve
 * (canary, then all traffic) while the registry's UpdateModelPackage fails at the end.
 */
function checkApprover(input: DeployInput, modelVersion: string): void {
  const problem = input.approval ? approverProblem(input.approval.approver) : null;
  if (problem) throw new StepError('ApprovalInvalid', `${modelVersion}: ${problem}`);
}

/** Deploy: copies the artifact and its spec where the scorer reads, then the new version takes the canary share. */
export function deployStep({ store, settings, scorer }: DeployDependencies) {
  return async (input: DeployInput): Promise<CanaryHandle> => {
    const modelVersion = modelVersionOf(input.registration.modelPackageArn);
    checkApprover(input, modelVersion);
    const serving = servingUris(settings, modelVersion);
    await store.put(serving.modelDataUrl, await store.get(input.training.modelDataUrl));
    await store.put(serving.featureSpecUri, await store.get(input.prepared.featureSpecUri));
    return scorer.startCanary({ modelVersion, ...serving, modelSha256: input.evaluation.modelSha256 });
  };
}

/** FinishDeploy: complete the shift, or roll back if an alarm fired during the canary. */
export function finishDeployStep({ store, settings, registry, scorer, now = () => new Date() }: DeployDependencies) {
  return async (input: DeployInput): Promise<{ modelVersion: string; champion: true }> => {
    const handle = input.deployment!;
    const modelVersion = modelVersionOf(input.registration.modelPackageArn);
    checkApprover(input, modelVersion);
    const firing = await scorer.firingAlarms();
    if (firing.length > 0) {
      await scorer.rollback(handle);
      const reason = `canary rolled back: ${firing.join(', ')} in alarm`;
      await registry.decide(input.registration.modelPackageArn, 'Rejected', [reason], input.approval?.approver);
      throw new StepError('CanaryRolledBack', `${modelVersion} ${reason}`);
    }
    await scorer.complete(handle);
    const pointer: ChampionPointer = {
      modelVersion,
      ...servingUris(settings, modelVersion),
      modelSha256: input.evaluation.modelSha256,
      datasetVersion: input.validation.datasetVersion,
      trainingJobName: input.training.trainingJobName,
      metrics: input.evaluation.candidate,
      deployedAt: now().toISOString(),
    };
    await store.put(championPointerUri(settings), `${JSON.stringify(pointer, null, 2)}\n`);
    await registry.decide(
      input.registration.modelPackageArn,
      'Approved',
      ['passed the promotion gate'],
      input.approval?.approver ?? 'promotion-gate',
    );
    return { modelVersion, champion: true };
  };
}

/** RecordRejection: the Gate or the approver said no; the champion keeps serving. */
export function recordRejectionStep({ registry }: Pick<DeployDependencies, 'registry'>) {
  return async (
    input: Pick<DeployInput, 'registration' | 'gate'> & { approvalError?: { Cause?: string } },
  ): Promise<{ promoted: false; reasons: string[] }> => {
    if (!input.approvalError) {
      await registry.decide(input.registration.modelPackageArn, 'Rejected', input.gate.reasons);
      return { promoted: false, reasons: input.gate.reasons };
    }
    const decision = parseApprovalDecision(input.approvalError.Cause);
    const reasons = [`approval declined${decision.approver ? ` by ${decision.approver}` : ''}: ${decision.reason}`];
    await registry.decide(input.registration.modelPackageArn, 'Rejected', reasons, decision.approver);
    return { promoted: false, reasons };
  };
}
