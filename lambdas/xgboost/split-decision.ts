/**
 * Where a row goes at a split of the plain node walk (models with categorical splits), exactly as XGBoost 1.7's
 * CPU predictor sends it: missing values to the default child, numeric values left when strictly below the
 * float32 threshold, categories in the node's set right.
 */
import type { WalkNodes } from './tree-ensemble';

/**
 * The child of split node `n` a row goes to, given its value `v` at the split feature (a float32, NaN =
 * missing). `first[n]` is the default child, `first[n] + 1` the other.
 */
export function walkChild(nodes: WalkNodes, first: Int32Array, n: number, v: number): number {
  if (v !== v) return first[n];
  const split = nodes.categorical[n];
  const left = split !== 0 ? categoryGoesLeft(nodes, split - 1, v) : v < nodes.value[n];
  return first[n] + (left === (nodes.defaultLeft[n] === 1) ? 0 : 1);
}

/**
 * XGBoost 1.7's categorical Decision: categories in the node's set go right; everything else, including
 * negative, too large and never-seen categories, goes left. Fractional values are truncated.
 */
function categoryGoesLeft(nodes: WalkNodes, split: number, v: number): boolean {
  const words = nodes.catLength[split];
  if (v < 0 || v >= words * 32) return true;
  const c = Math.trunc(v);
  const bits = nodes.catBits[nodes.catOffset[split] + (c >>> 5)];
  return ((bits >>> (c & 31)) & 1) === 0;
}
