/**
 * The drift baseline (`baseline.json`): what the training data and the model's scores looked like, in fixed
 * bins that every later window is counted in. Prepare writes the features' part from the training split;
 * Evaluate adds the candidate's score histogram on the test split; Deploy stamps the model version and ships it
 * beside the artifact, and the scorer loads it with the model.
 *
 * ```json
 * { "format": "mlp.drift-baseline/2", "rows": 8000, "modelVersion": "mlp-dev-loans/3",
 *   "features": [
 *     { "name": "income", "type": "numeric", "edges": [21000, 26500, …], "counts": [800, …], "missing": 0,
 *       "min": 9000, "max": 310000, "mean": 52000.5, "std": 21000.1 },
 *     { "name": "region", "type": "categorical", "categories": ["north", "south"], "counts": [5000, 2900, 100],
 *       "missing": 0 } ],
 *   "score": { "edges": […], "counts": […], "missing": 0, "min": 0.01, "max": 0.98, "mean": 0.2, "std": 0.1 } }
 * ```
 *
 * Bins: a numeric feature's `edges` are the values at positions floor(d·n/10), d = 1…9, of its sorted present
 * values, repeats removed; bin b holds values at or above edge b−1 and below edge b (`counts` has one more entry
 * than `edges`). A categorical feature keeps its `categories` most frequent values (most frequent first) and
 * one bin for every other value (`counts` has one more entry than `categories`). `missing` counts absent values.
 */
import * as z from 'zod/mini';
import { describeIssues } from '../../contracts/describe-issues';

/** Identifier of this baseline format, stored in every baseline file. */
export const DRIFT_BASELINE_FORMAT = 'mlp.drift-baseline/2';

/** Categories of a categorical feature that get a bin of their own; the rest share "other". */
export const TOP_CATEGORIES = 20;

/** Deciles: the positions (as fractions of the present values) of a numeric feature's bin edges. */
const EDGE_FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function buildSchema() {
  const count = z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
  const finite = z.number().check(z.refine(Number.isFinite, 'must be finite'));
  const summary = {
    min: z.nullable(finite),
    max: z.nullable(finite),
    mean: z.nullable(finite),
    std: z.nullable(finite),
  };
  const binsShape = { edges: z.array(finite), counts: z.array(count), missing: count, ...summary };
  const numericBins = z.strictObject(binsShape).check(
    z.superRefine((bins, ctx) => {
      if (bins.counts.length !== bins.edges.length + 1) {
        ctx.addIssue({ code: 'custom', path: ['counts'], message: 'must hold one more entry than edges' });
      }
      if (bins.edges.some((e, k) => k > 0 && !(e > bins.edges[k - 1]))) {
        ctx.addIssue({ code: 'custom', path: ['edges'], message: 'edges must increase' });
      }
    }),
  );
  const name = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must be a simple identifier'));
  const numeric = z.strictObject({ name, type: z.literal('numeric'), ...binsShape });
  const categorical = z.strictObject({
    name,
    type: z.literal('categorical'),
    categories: z.array(z.string().check(z.maxLength(256))).check(z.maxLength(1000)),
    counts: z.array(count),
    missing: count,
  });
  return z
    .strictObject({
      format: z.literal(DRIFT_BASELINE_FORMAT),
      rows: count,
      modelVersion: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
      datasetVersion: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
      features: z.array(z.discriminatedUnion('type', [numeric, categorical])).check(z.maxLength(10_000)),
      score: z.optional(numericBins),
    })
    .check(
      z.superRefine((baseline, ctx) => {
        const seen = new Set<string>();
        baseline.features.forEach((feature, i) => {
          if (seen.has(feature.name)) {
            ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: 'is repeated' });
          }
          seen.add(feature.name);
          if (feature.type === 'numeric') {
            if (feature.counts.length !== feature.edges.length + 1) {
              ctx.addIssue({
                code: 'custom',
                path: ['features', i, 'counts'],
                message: 'must hold one more than edges',
              });
            }
            if (feature.edges.some((e, k) => k > 0 && !(e > feature.edges[k - 1]))) {
              ctx.addIssue({ code: 'custom', path: ['features', i, 'edges'], message: 'edges must increase' });
            }
          }
          if (feature.type === 'categorical' && feature.counts.length !== feature.categories.length + 1) {
            ctx.addIssue({
              code: 'custom',
              path: ['features', i, 'counts'],
              message: 'must hold one more entry than categories',
            });
          }
        });
      }),
    );
}

let schema: ReturnType<typeof buildSchema> | undefined;

/** A validated drift baseline. */
export type DriftBaseline = z.infer<ReturnType<typeof buildSchema>>;
/** The baseline of one feature. */
export type FeatureBaseline = DriftBaseline['features'][number];
/** Fixed bins of a numeric value (a numeric feature, or the score) with its summary statistics. */
export type NumericBins = NonNullable<DriftBaseline['score']>;

/** A baseline document that is not one. */
export class DriftBaselineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftBaselineError';
  }
}

/** Validates a parsed `baseline.json`, naming every problem by path (`where` names the file). */
export function parseDriftBaseline(document: unknown, where = 'baseline'): DriftBaseline {
  schema ??= buildSchema();
  const result = schema.safeParse(document);
  if (!result.success) {
    throw new DriftBaselineError(
      `${where} is not a drift baseline: ${describeIssues(result.error.issues).slice(0, 5).join('; ')}`,
    );
  }
  return result.data;
}

/** Reads a baseline file's bytes. */
export function readDriftBaseline(bytes: Uint8Array, where = 'baseline'): DriftBaseline {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new DriftBaselineError(`${where} is not valid JSON`);
  }
  return parseDriftBaseline(document, where);
}

/**
 * The positions, among `present` sorted values, whose values are a numeric feature's bin edges (before repeats
 * are removed): floor(d·n/10) for d = 1…9. Prepare's SQL and {@link numericBins} both use it.
 */
export function edgePositions(present: number): number[] {
  if (present === 0) return [];
  return [...new Set(EDGE_FRACTIONS.map((f) => Math.floor(f * present)))];
}

/** The bin of a value among increasing `edges`: how many edges are at or below it (NaN has none). */
export function binOf(edges: ArrayLike<number>, value: number): number {
  let b = 0;
  while (b < edges.length && value >= edges[b]) b++;
  return b;
}

/**
 * Bins of a sample of numeric values (NaN is missing; ±∞ fall in the outer bins), by the baseline's rule:
 * Evaluate's score histogram, and the reference the tests hold Prepare's SQL to.
 */
export function numericBins(values: ArrayLike<number>): NumericBins {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) present.push(values[i]);
  present.sort((a, b) => a - b);
  const edges = [...new Set(edgePositions(present.length).map((p) => present[p]))].filter(Number.isFinite);
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of present) counts[binOf(edges, v)]++;
  const finite = present.filter(Number.isFinite);
  const n = finite.length;
  let mean = 0;
  for (const v of finite) mean += v / n;
  let sq = 0;
  for (const v of finite) sq += ((v - mean) * (v - mean)) / n;
  return {
    edges,
    counts,
    missing: values.length - present.length,
    min: n ? finite[0] : null,
    max: n ? finite[n - 1] : null,
    mean: n ? mean : null,
    std: n ? Math.sqrt(sq) : null,
  };
}

/**
 * Bins of a categorical feature from its category counts: the {@link TOP_CATEGORIES} most frequent (ties by
 * name) get a bin each, the rest share the last.
 */
export function categoricalBins(
  counts: Readonly<Record<string, number>>,
  top = TOP_CATEGORIES,
): { categories: string[]; counts: number[] } {
  const ranked = Object.entries(counts).sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0));
  const kept = ranked.slice(0, top);
  const other = ranked.slice(top).reduce((sum, [, n]) => sum + n, 0);
  return { categories: kept.map(([c]) => c), counts: [...kept.map(([, n]) => n), other] };
}

/** Bins a feature's counts occupy in a window's counts: its baseline bins, then one for missing values. */
export function binCount(feature: FeatureBaseline | NumericBins): number {
  return feature.counts.length + 1;
}

/** A feature's (or the score's) reference counts, bins then missing: the layout window counts use. */
export function referenceCounts(feature: FeatureBaseline | NumericBins): number[] {
  return [...feature.counts, feature.missing];
}
