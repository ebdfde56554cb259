/**
 * The input type of every Lambda entry point of the retraining state machine, by its export name in
 * stepfunctions/lambda-handlers.ts: what a state's rendered payload must be. The checks below fail to compile
 * when an entry point's parameter type and the one named here differ, and test/support/aws/step-input-schemas.ts
 * turns this interface into JSON Schema with ts-json-schema-generator.
 */
import type * as handlers from '../../stepfunctions/lambda-handlers';
import type { ApprovalRequest } from '../../stepfunctions/lambda-handlers';
import type { DeployerEvent } from '../../stepfunctions/retraining-steps';
import type { EvaluateInput } from '../../stepfunctions/steps/evaluate';
import type { GateInput } from '../../stepfunctions/steps/gate';
import type { PrepareInput } from '../../stepfunctions/steps/prepare';
import type { RetrainingInput } from '../../stepfunctions/steps/validate-manifest';

/** Input of each entry point. */
export interface StepInputs {
  validateManifest: RetrainingInput;
  prepare: PrepareInput;
  evaluate: EvaluateInput;
  gate: GateInput;
  deployer: DeployerEvent;
  requestApproval: ApprovalRequest;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type InputOf<K extends keyof StepInputs> = Parameters<(typeof handlers)[K]>[0];

/** Compiles only while every entry named has exactly the parameter type named. */
export const STEP_INPUTS_MATCH: { [K in keyof StepInputs]: Same<StepInputs[K], InputOf<K>> } = {
  validateManifest: true,
  prepare: true,
  evaluate: true,
  gate: true,
  deployer: true,
  requestApproval: true,
};

/** Every entry point of lambda-handlers.ts is named here (a new one fails to compile until it is). */
export const EVERY_ENTRY_NAMED: Same<keyof StepInputs, keyof typeof handlers> = true;
