/**
 * Reason codes: the per-model table that turns a decision's strongest adverse feature contributions into the
 * reasons a bank gives the customer (adverse-action notices, GDPR Art. 22). Written in the environment's
 * configuration (`retraining.explanations`), copied by Prepare into the model's feature spec, served by the
 * scorer on `explain: true`.
 */

/** Code of a reason: what notices and case systems key on. */
export const REASON_CODE_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,15}$/;
/** Longest reason text, in UTF-16 code units. */
export const MAX_REASON_TEXT = 200;
/** Most reasons one explained decision may ask for. */
export const MAX_REASONS = 10;

/** One feature's reason. */
export interface Reason {
  readonly code: string;
  readonly text: string;
}

/** How a model's decisions are explained. */
export interface Explanations {
  /** Which way of the model's score goes against the applicant: `higher` for a probability of default. */
  readonly adverse: 'higher' | 'lower';
  /** For a multi-class model, the class whose score is explained. */
  readonly class?: number;
  /** Feature name → its reason; every model feature has one. */
  readonly reasons: Readonly<Record<string, Reason>>;
}

/**
 * What is wrong with a reason table for these features: the features it does not cover and the names it lists
 * that are not features; null when it covers exactly the features.
 */
export function reasonTableProblem(
  reasons: Readonly<Record<string, Reason>>,
  features: readonly string[],
): string | null {
  const uncovered = features.filter((f) => !Object.hasOwn(reasons, f));
  const unknown = Object.keys(reasons).filter((name) => !features.includes(name));
  const problems = [
    ...(uncovered.length ? [`the reason-code table does not cover feature(s) ${uncovered.join(', ')}`] : []),
    ...(unknown.length
      ? [`the reason-code table names feature(s) the model does not have: ${unknown.join(', ')}`]
      : []),
  ];
  return problems.length ? problems.join('; ') : null;
}
