/**
 * How a compliance finding is accepted: on the one resource it concerns, beside the code that creates that
 * resource, with the reason a security reviewer needs. A stage built with `acknowledgeFindings: false` records
 * none of them, so a test can check that every acknowledgement still matches a real finding.
 */
import { Token, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/** Context key a stage sets to `false` to record no acknowledgement below it. */
export const ACKNOWLEDGE_FINDINGS_CONTEXT = 'mlp:acknowledgeFindings';

/** NIST and PCI rule ids of an inline (non-managed) IAM policy. */
export const INLINE_POLICY = ['NIST.800.53.R5-IAMNoInlinePolicy', 'PCI.DSS.321-IAMNoInlinePolicy'] as const;

/** Acknowledges `ruleIds` on `construct` (and its children) with one reason. */
export function acknowledge(construct: IConstruct, ruleIds: readonly string[], reason: string): void {
  if (construct.node.tryGetContext(ACKNOWLEDGE_FINDINGS_CONTEXT) === false) return;
  for (const id of ruleIds) Validations.of(construct).acknowledge({ id, reason });
}

/** The rule id of an AWS Solutions wildcard finding (IAM5) on one resource. */
export function wildcardFinding(resource: string): string {
  // cdk-nag names the resource as the template spells it; a token would never match.
  if (Token.isUnresolved(resource)) throw new Error(`wildcardFinding: ${resource} is not known at synth time`);
  return `AwsSolutions-IAM5[Resource::${resource}]`;
}

/**
 * Acknowledges `ruleIds` on the default policy of `principal`'s role, the policy its grants
 * (`addToPrincipalPolicy`, `grant…`) land in. Call it after the grant: the policy exists from the first one.
 */
export function acknowledgeGrants(principal: iam.IGrantable, ruleIds: readonly string[], reason: string): void {
  const role = principal.grantPrincipal;
  const policy = Construct.isConstruct(role) ? role.node.tryFindChild('DefaultPolicy') : undefined;
  if (!policy) throw new Error(`cannot acknowledge ${ruleIds.join(', ')}: the principal has no default policy`);
  acknowledge(policy, ruleIds, reason);
}
