/**
 * The feature spec (`feature-spec.json`): the ordered model inputs, their types and category encodings.
 * Prepare fits and writes it next to the training data; the scorer applies the very same spec to JSON
 * records, so training and serving build identical vectors.
 *
 * ```json
 * { "format": "mlp.feature-spec/1",
 *   "features": [
 *     { "name": "income", "type": "numeric" },
 *     { "name": "region", "type": "categorical", "encoding": "one-hot", "categories": ["north", "south"] },
 *     { "name": "segment", "type": "categorical", "encoding": "ordinal", "categories": ["retail", "sme"] } ],
 *   "explanations": { "adverse": "higher", "reasons": {
 *     "income": { "code": "INC", "text": "Income too low for the amount requested" }, … } } }
 * ```
 *
 * Columns: a numeric feature is one column (its value as float32); a one-hot feature one column per
 * category (1 for the record's category, 0 for the others); an ordinal feature one column holding the
 * category's index. Missing or null values, and categories the spec does not list, are missing (NaN).
 */
import * as z from 'zod/mini';
import { describeIssues } from '../../contracts/describe-issues'; // zod/mini: the scorer bundle stays small
import { MAX_REASON_TEXT, REASON_CODE_PATTERN, reasonTableProblem } from '../../contracts/reason-codes';

/** Identifier of this spec format, stored in every spec file. */
export const FEATURE_SPEC_FORMAT = 'mlp.feature-spec/1';

/** Most categories one categorical feature may have. */
export const MAX_CATEGORIES = 10_000;
/** Longest category value, in UTF-16 code units. */
export const MAX_CATEGORY_LENGTH = 256;

/**
 * Builds the schema of `feature-spec.json`. Built on first use and kept: zod takes milliseconds to construct
 * it, and a scorer serving a model without a spec (features named after the model) never needs it.
 */
function buildFeatureSpecSchema() {
  const name = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must be a simple identifier'));
  const featureSchema = z.discriminatedUnion('type', [
    z.strictObject({ name, type: z.literal('numeric') }),
    z.strictObject({
      name,
      type: z.literal('categorical'),
      encoding: z.enum(['one-hot', 'ordinal']),
      categories: z
        .array(z.string().check(z.maxLength(MAX_CATEGORY_LENGTH)))
        .check(z.minLength(1), z.maxLength(MAX_CATEGORIES)),
    }),
  ]);
  return z
    .strictObject({
      format: z.literal(FEATURE_SPEC_FORMAT),
      /** Training label column (informational; never part of the scoring vector). */
      label: z.optional(name),
      features: z.array(featureSchema).check(z.minLength(1), z.maxLength(10_000)),
      /** How decisions are explained: the adverse direction and a reason per feature (contracts/reason-codes.ts). */
      explanations: z.optional(
        z.strictObject({
          adverse: z.enum(['higher', 'lower']),
          class: z.optional(z.number().check(z.int(), z.nonnegative())),
          reasons: z.record(
            z.string(),
            z.strictObject({
              code: z.string().check(z.regex(REASON_CODE_PATTERN, 'must be 1-16 of A-Z, 0-9, _ and -')),
              text: z.string().check(z.minLength(1), z.maxLength(MAX_REASON_TEXT)),
            }),
          ),
        }),
      ),
    })
    .check(
      z.superRefine((spec, ctx) => {
        const seen = new Set<string>();
        spec.features.forEach((feature, i) => {
          if (seen.has(feature.name))
            ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: 'is repeated' });
          seen.add(feature.name);
          if (feature.type === 'categorical' && new Set(feature.categories).size !== feature.categories.length) {
            ctx.addIssue({ code: 'custom', path: ['features', i, 'categories'], message: 'lists a category twice' });
          }
        });
        if (spec.explanations) {
          const problem = reasonTableProblem(
            spec.explanations.reasons,
            spec.features.map((f) => f.name),
          );
          if (problem) ctx.addIssue({ code: 'custom', path: ['explanations', 'reasons'], message: problem });
        }
      }),
    );
}

let featureSpecSchema: ReturnType<typeof buildFeatureSpecSchema> | undefined;

/** A validated feature spec. */
export type FeatureSpec = z.infer<ReturnType<typeof buildFeatureSpecSchema>>;
/** One feature of a spec. */
export type FeatureDefinition = FeatureSpec['features'][number];

/** Raised for an invalid spec document. */
export class FeatureSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureSpecError';
  }
}

/** Validates a parsed `feature-spec.json`, naming every problem by path. */
export function parseFeatureSpec(document: unknown): FeatureSpec {
  featureSpecSchema ??= buildFeatureSpecSchema();
  const result = featureSpecSchema.safeParse(document, { reportInput: true });
  if (!result.success) {
    throw new FeatureSpecError(`invalid feature spec: ${describeIssues(result.error.issues).slice(0, 10).join('; ')}`);
  }
  return result.data;
}

/** Columns a spec produces, in order (one-hot features expand to `name=category`). */
export function specColumns(spec: FeatureSpec): string[] {
  return spec.features.flatMap((feature) =>
    isOneHot(feature) ? feature.categories.map((category) => `${feature.name}=${category}`) : [feature.name],
  );
}

/** For each column a spec produces, in order, the index of the feature it comes from (a one-hot column: its feature). */
export function columnFeatures(spec: FeatureSpec): number[] {
  return spec.features.flatMap((feature, i) => (isOneHot(feature) ? feature.categories.map(() => i) : [i]));
}

type Feature = FeatureSpec['features'][number];

function isOneHot(feature: Feature): feature is Extract<Feature, { type: 'categorical' }> {
  return feature.type === 'categorical' && feature.encoding === 'one-hot';
}

/** A spec of `count` numeric features named after the model's feature names, or f0…f{count-1}. */
export function numericSpec(count: number, names?: readonly string[]): FeatureSpec {
  const usable = names && names.length === count && names.every((n) => /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(n));
  return {
    format: FEATURE_SPEC_FORMAT,
    features: Array.from({ length: count }, (_, i) => ({
      name: usable ? names[i] : `f${i}`,
      type: 'numeric' as const,
    })),
  };
}
