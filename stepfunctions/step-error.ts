/**
 * Failures a retraining step reports by name. Step Functions matches Retry and Catch on the error name (the
 * Lambda runtime reports `error.name` as the error type), so each name is part of the state machine's
 * contract and shows up as the execution's failure reason.
 */

/** Names of the retraining failures. */
export type StepErrorName =
  | 'ManifestInvalid'
  | 'SchemaMismatch'
  | 'KeyMismatch'
  | 'DuplicateKey'
  | 'LabelInvalid'
  | 'SingleClassLabel'
  | 'EmptySplit'
  | 'ModelLoadFailed'
  | 'TrainingFailed'
  | 'ApprovalInvalid'
  | 'ApprovalNotRecorded'
  | 'CanaryRolledBack'
  | 'RollbackFailed'
  | 'TrailUnavailable'
  | 'ModelCardFailed';

/** A named, non-retryable step failure. Messages name columns, files and counts, never data values. */
export class StepError extends Error {
  constructor(name: StepErrorName, message: string) {
    super(message);
    this.name = name;
  }
}
