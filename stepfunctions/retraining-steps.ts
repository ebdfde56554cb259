/**
 * Every retraining step as a handler, keyed by the state that runs it. The Lambda entry points and the local
 * runner build the same map, so a state does the same thing in both worlds; only the dependencies differ.
 */
import type { ArtifactStore } from './artifact-store';
import type { ApprovalTrail } from './governance/approval-trail';
import {
  deployStep,
  finishDeployStep,
  recordRejectionStep,
  rollBackDeployStep,
  type DeployInput,
} from './steps/deploy';
import { evaluateStep } from './steps/evaluate';
import { gateStep } from './steps/gate';
import { mergeExtractStep, prepareStep } from './steps/prepare';
import type { TableCatalog } from './curated/table-catalog';
import { validateManifestStep } from './steps/validate-manifest';
import type { ModelRegistry } from './model-registry';
import type { RetrainingSettings } from './retraining-settings';
import type { ScorerDeployment } from './scorer-deployment';

/** Dependencies of the steps. */
export interface RetrainingDependencies {
  readonly store: ArtifactStore;
  readonly settings: RetrainingSettings;
  readonly registry: ModelRegistry;
  readonly scorer: ScorerDeployment;
  /** The environment's approval trail: the gate's decisions and deployments are recorded there. */
  readonly trail?: ApprovalTrail;
  /** Where MergeExtract registers the curated table for Athena (engine `athena`). */
  readonly catalog?: TableCatalog;
  readonly now?: () => Date;
}

/** Payload of the shared deployer function: which step, and the execution's state. */
export interface DeployerEvent {
  readonly step: 'Deploy' | 'FinishDeploy' | 'RollBackDeploy' | 'RecordRejection';
  readonly execution: DeployInput;
}

/** Handlers by state name. */
export function retrainingSteps(deps: RetrainingDependencies) {
  const deployers = {
    Deploy: deployStep(deps),
    FinishDeploy: finishDeployStep(deps),
    RollBackDeploy: rollBackDeployStep(deps),
    RecordRejection: recordRejectionStep(deps),
  };
  const deployer = (event: DeployerEvent) => {
    const run = deployers[event.step] as ((input: DeployInput) => Promise<unknown>) | undefined;
    if (!run) throw new Error(`unknown deployer step ${String(event.step).slice(0, 40)}`);
    return run(event.execution);
  };
  return {
    ValidateManifest: validateManifestStep(deps),
    MergeExtract: mergeExtractStep(deps),
    Prepare: prepareStep(deps),
    Evaluate: evaluateStep(deps),
    Gate: gateStep(deps),
    deployer,
  };
}
