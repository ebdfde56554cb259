/**
 * One line per schema problem, `field.path: what is wrong`, for every zod-validated document (environment
 * config, agent config, feature spec). Validate with `{ reportInput: true }` so a missing field can be told
 * apart from a wrongly typed one; the input itself is never printed.
 */
import type { $ZodIssue } from 'zod/v4/core';

/** Describes validation issues, naming unknown fields and missing required ones plainly. */
export function describeIssues(issues: readonly $ZodIssue[]): string[] {
  const at = (path: readonly PropertyKey[]) => path.map(String).join('.') || '(root)';
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => `${at([...issue.path, key])}: unknown field`);
    if (issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined)
      return [`${at(issue.path)}: is required`];
    return [`${at(issue.path)}: ${issue.message}`];
  });
}
