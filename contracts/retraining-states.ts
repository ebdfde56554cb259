/**
 * The retraining state machine's vocabulary, shared by the CDK definition, the local runner (which overrides
 * Task states by name), the step handlers and whoever reads an execution's result: state names, where each
 * step's result lands in the execution's state, and the Lambda handler export of each step function.
 */

/** Names of the state machine's states. */
export const STATE = {
  validate: 'ValidateManifest',
  /** Engine `athena` only: the merge and the plan, then Athena's selection of the training set. */
  mergeExtract: 'MergeExtract',
  queryTrainingSet: 'QueryTrainingSet',
  /** Replaces a failed query's reason (Athena's, which may quote row values) before NotifyFailure. */
  queryFailed: 'TrainingSetQueryFailed',
  prepare: 'Prepare',
  train: 'Train',
  evaluate: 'Evaluate',
  register: 'Register',
  gate: 'Gate',
  promote: 'Promote?',
  approve: 'Approve',
  recordRejection: 'RecordRejection',
  deploy: 'Deploy',
  canary: 'CanaryWindow',
  finishDeploy: 'FinishDeploy',
  rollBackDeploy: 'RollBackDeploy',
  notifyFailure: 'NotifyFailure',
  failed: 'RetrainingFailed',
  promoted: 'Promoted',
  notPromoted: 'NotPromoted',
} as const;

/**
 * Fields of the execution's state each step writes (its ResultPath): the final output of an execution holds
 * them all, which is what its outcome is read from.
 */
export const RESULT = {
  validation: 'validation',
  merged: 'merged',
  trainingSetQuery: 'trainingSetQuery',
  prepared: 'prepared',
  training: 'training',
  evaluation: 'evaluation',
  registration: 'registration',
  gate: 'gate',
  approval: 'approval',
  approvalError: 'approvalError',
  deployment: 'deployment',
  deployed: 'deployed',
  rollback: 'rollback',
  decision: 'decision',
  error: 'error',
} as const;

/** The JSONPath of a result field, e.g. `$.prepared` (and `$.prepared.outputPath` with a sub-path). */
export function resultPath(field: keyof typeof RESULT, subPath?: string): string {
  return subPath ? `$.${RESULT[field]}.${subPath}` : `$.${RESULT[field]}`;
}

/** The export of stepfunctions/lambda-handlers.ts each step function runs. */
export const STEP_HANDLERS = {
  validate: 'validateManifest',
  prepare: 'prepare',
  evaluate: 'evaluate',
  gate: 'gate',
  deployer: 'deployer',
  approval: 'requestApproval',
} as const;

/** Name of the error the Approve state fails with when a human declines (its Cause: an approval decision). */
export const APPROVAL_REJECTED = 'ApprovalRejected';
