/**
 * XGBoost objectives the scorer supports: how a saved base_score becomes the initial margin (ProbToMargin),
 * and how raw margins become predictions (PredTransform), both in float32 as XGBoost computes them.
 */
import { ModelFormatError } from './model-error';

/** Objectives whose models the scorer reads. */
export const SUPPORTED_OBJECTIVES = [
  'binary:logistic',
  'binary:logitraw',
  'reg:squarederror',
  'reg:logistic',
  'multi:softprob',
  'multi:softmax',
  'count:poisson',
] as const;

/** One of {@link SUPPORTED_OBJECTIVES}. */
export type Objective = (typeof SUPPORTED_OBJECTIVES)[number];

const f = Math.fround;

/** Narrows a saved objective name, rejecting anything else by name. */
export function parseObjective(name: string): Objective {
  if ((SUPPORTED_OBJECTIVES as readonly string[]).includes(name)) return name as Objective;
  throw new ModelFormatError(
    `unsupported objective "${name.slice(0, 64)}"; supported: ${SUPPORTED_OBJECTIVES.join(', ')}`,
  );
}

/**
 * The initial margin for a saved base_score (XGBoost >= 1.0 stores it untransformed). binary:logistic and
 * reg:logistic take the logit and count:poisson the log, in float32; the others (binary:logitraw included)
 * use it as is.
 */
export function baseMargin(objective: Objective, baseScore: number): number {
  const score = f(baseScore);
  switch (objective) {
    case 'binary:logistic':
    case 'reg:logistic':
      if (!(score > 0 && score < 1)) {
        throw new ModelFormatError(`base_score ${score} is outside (0, 1) for objective ${objective}`);
      }
      return f(-Math.log(f(f(1 / score) - 1)));
    case 'count:poisson':
      if (!(score > 0)) throw new ModelFormatError(`base_score ${score} must be positive for count:poisson`);
      return f(Math.log(score));
    default:
      return score;
  }
}

/** Number of values {@link transform} writes per row: 1 for multi:softmax (the class), else the group count. */
export function outputWidth(objective: Objective, groups: number): number {
  return objective === 'multi:softmax' ? 1 : groups;
}

/**
 * Writes the transformed prediction for one row's margins (`groups` values at `margins[offset…]`) into
 * `out[outOffset…]`: sigmoid, softmax probabilities, arg-max class, exp, or the margin itself.
 */
export function transform(
  objective: Objective,
  margins: ArrayLike<number>,
  offset: number,
  groups: number,
  out: Float64Array | number[],
  outOffset: number,
): void {
  switch (objective) {
    case 'binary:logistic':
    case 'reg:logistic':
      out[outOffset] = f(1 / f(1 + f(Math.exp(-margins[offset]))));
      return;
    case 'count:poisson':
      out[outOffset] = f(Math.exp(margins[offset]));
      return;
    case 'multi:softprob': {
      let max = margins[offset];
      for (let k = 1; k < groups; k++) max = Math.max(max, margins[offset + k]);
      let sum = 0; // XGBoost accumulates the softmax denominator in double, then divides in float
      for (let k = 0; k < groups; k++) {
        const e = f(Math.exp(f(margins[offset + k] - max)));
        out[outOffset + k] = e;
        sum += e;
      }
      const denominator = f(sum);
      for (let k = 0; k < groups; k++) out[outOffset + k] = f(out[outOffset + k] / denominator);
      return;
    }
    case 'multi:softmax': {
      let best = 0;
      for (let k = 1; k < groups; k++) if (margins[offset + k] > margins[offset + best]) best = k;
      out[outOffset] = best;
      return;
    }
    default:
      for (let k = 0; k < groups; k++) out[outOffset + k] = margins[offset + k];
  }
}
