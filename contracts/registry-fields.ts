/**
 * What SageMaker's model registry accepts in the fields people type into (UpdateModelPackage, as AWS's service
 * model states it — botocore's `sagemaker/2017-07-24`): the approver is a CustomerMetadataProperties value,
 * the reason part of the ApprovalDescription. Checked before any side effect, so that a decision SageMaker
 * would refuse never leaves a model serving that the registry does not record.
 */

/** CustomerMetadataValue: `^([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)$`, 1 to 256 characters. */
export const METADATA_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;

/** ApprovalDescription is `.*` (Java), which no line terminator matches; at most 1,024 characters. */
const LINE_TERMINATOR = /[\n\r\u0085\u2028\u2029]/u;

/** Why SageMaker would refuse `approver` as the recorded approver, or null. */
export function approverProblem(approver: string): string | null {
  if (METADATA_VALUE.test(approver)) return null;
  if (approver.length === 0 || approver.length > 256) return 'the approver must be 1 to 256 characters';
  return (
    "the approver may hold only letters, digits, spaces and _ . : / = + - @ (the model registry's rule), " +
    'e.g. jane.obrien@bank.example'
  );
}

/** The ApprovalDescription recording `reasons`: joined, cut to the 1,024 characters the registry keeps. */
export function approvalDescription(reasons: readonly string[]): string {
  return reasons.join('; ').slice(0, 1024);
}

/** Why SageMaker would refuse `description` as an ApprovalDescription (one line, at most 1,024), or null. */
export function approvalDescriptionProblem(description: string): string | null {
  if (LINE_TERMINATOR.test(description)) return 'an approval description must be one line';
  if (description.length > 1024) return 'an approval description holds at most 1,024 characters';
  return null;
}

/**
 * Why SageMaker would refuse `reason`, typed by a person, in an approval description, or null. The description
 * adds who declined, so a reason may use 900 of its 1,024 characters.
 */
export function approvalReasonProblem(reason: string): string | null {
  if (LINE_TERMINATOR.test(reason)) return 'the reason must be one line (the model registry refuses line breaks)';
  if (reason.length > 900) return 'the reason must be at most 900 characters (the registry keeps 1,024 in all)';
  return null;
}
