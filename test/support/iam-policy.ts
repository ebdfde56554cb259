/**
 * IAM policy evaluation for the wire-level stand-ins: the statements of a role's policies as synthesized,
 * resolved to concrete ARNs, answer whether a call (action, resource, request context) is allowed, as IAM
 * decides it for the parts the project uses — Allow/Deny, wildcard actions and resources (`*`, `?`), and
 * the condition operators StringEquals, StringNotEquals, StringLike, ArnEquals, ArnLike, Null. An explicit Deny wins;
 * no matching Allow is an implicit deny.
 */
import type { Template } from 'aws-cdk-lib/assertions';

/** A statement with every value resolved to a string. */
export interface ResolvedStatement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

/** Resolves a CloudFormation value (Ref, Fn::Join, Fn::ImportValue, …) to the string it stands for. */
export type CfnResolver = (value: unknown) => string;

/** A call as IAM sees it. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request, e.g. `{ 's3:prefix': 'landing/loans/' }`. */
  readonly context?: Readonly<Record<string, string>>;
}

/** Every statement of the policies attached to the role whose logical id starts with `rolePrefix`. */
export function rolePolicy(template: Template, rolePrefix: string, resolve: CfnResolver): RolePolicy {
  const roleOf = (ref: unknown) => String((ref as { Ref?: string }).Ref ?? '');
  const policies = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap((type) =>
    Object.values(template.findResources(type)).filter((policy) =>
      ((policy.Properties as { Roles?: unknown[] }).Roles ?? []).some((r) => roleOf(r).startsWith(rolePrefix)),
    ),
  );
  const statements = policies.flatMap((policy) => resolvedStatements(policy, resolve));
  if (statements.length === 0) throw new Error(`no policy statement is attached to a role named ${rolePrefix}…`);
  return new RolePolicy(statements);
}

/**
 * The statements of a customer-managed policy (by logical id prefix), as a principal it is attached to holds them
 * (a policy the platform publishes for the bank to attach to its own people's roles, such as the approvers').
 */
export function managedPolicy(template: Template, policyPrefix: string, resolve: CfnResolver): RolePolicy {
  const found = Object.entries(template.findResources('AWS::IAM::ManagedPolicy')).find(([id]) =>
    id.startsWith(policyPrefix),
  );
  if (!found) throw new Error(`no managed policy named ${policyPrefix}…`);
  return new RolePolicy(resolvedStatements(found[1], resolve));
}

function resolvedStatements(policy: { Properties?: unknown }, resolve: CfnResolver): ResolvedStatement[] {
  const props = policy.Properties as { PolicyDocument: { Statement: unknown[] } };
  return (props.PolicyDocument.Statement as Record<string, unknown>[]).map((s) => ({
    sid: s.Sid as string | undefined,
    effect: s.Effect as 'Allow' | 'Deny',
    actions: [s.Action].flat().map((a) => String(a)),
    resources: [s.Resource].flat().map(resolve),
    conditions: Object.fromEntries(
      Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>).map(([op, keys]) => [
        op,
        Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, [v].flat().map(resolve)])),
      ]),
    ),
  }));
}

/** The resolved statements of one role, and the calls they were asked about. */
export class RolePolicy {
  /** Every request evaluated, allowed or not. */
  readonly calls: Array<IamRequest & { readonly allowed: boolean }> = [];

  constructor(readonly statements: readonly ResolvedStatement[]) {}

  /**
   * Whether IAM would allow the request; records it unless `record` is false (a service asking for itself, as S3
   * does to choose between 403 and 404).
   */
  allows(request: IamRequest, record = true): boolean {
    const matching = this.statements.filter((s) => matches(s, request));
    const allowed = matching.some((s) => s.effect === 'Allow') && !matching.some((s) => s.effect === 'Deny');
    if (record) this.calls.push({ ...request, allowed });
    return allowed;
  }
}

function matches(statement: ResolvedStatement, request: IamRequest): boolean {
  return (
    statement.actions.some((a) => glob(a, request.action, true)) &&
    statement.resources.some((r) => glob(r, request.resource, false)) &&
    Object.entries(statement.conditions).every(([op, keys]) =>
      Object.entries(keys).every(([key, values]) => condition(op, request.context?.[key], values)),
    )
  );
}

function condition(op: string, actual: string | undefined, values: readonly string[]): boolean {
  switch (op) {
    case 'StringEquals':
    case 'ArnEquals':
      return actual !== undefined && values.includes(actual);
    case 'StringNotEquals':
      return actual === undefined || !values.includes(actual);
    case 'StringLike':
    case 'ArnLike':
      return actual !== undefined && values.some((v) => glob(v, actual, false));
    case 'Null':
      // "true": the key is absent from the request; "false": present.
      return values.includes(String(actual === undefined));
    default:
      throw new Error(`condition operator ${op} is not modelled: add it before relying on it`);
  }
}

/** IAM's wildcard match: `*` any run, `?` any one character; actions are case-insensitive. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}
