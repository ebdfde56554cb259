/**
 * A branch-free layout of a numeric (non-categorical) ensemble. Each row is first expanded into a key
 * vector of 2 × numFeature doubles: `key[f] = x[f]` and `key[F + f] = -x[f]`, with NaN as -Infinity in both.
 * Each node then steps with `next = first + (key[slot] > bound)`, its two children side by side at `first`,
 * ordered so that the comparison is false exactly when XGBoost goes to `first`:
 *
 * - default-left node: children [left, right], slot f, bound = the float32 just below the threshold:
 *   the test is `x >= threshold`, false for NaN (→ left);
 * - default-right node: children [right, left], slot F + f, bound = -threshold: the test is
 *   `x < threshold`, false for NaN (→ right).
 *
 * Both are exact for float32 inputs. Leaves loop onto themselves (bound +Infinity), so every walk takes a
 * fixed number of steps and several walks interleave without data-dependent branches.
 */
import type { TreeEnsemble } from './tree-ensemble';

/** Flat arrays of a numeric ensemble; see the module comment. */
export interface FlatForest {
  /** Index into the row's key vector read at each node (0 for leaves). */
  readonly slot: Int32Array;
  /** Comparison bound of each node (+Infinity for leaves); every bound is a float32, so the array is one. */
  readonly bound: Float32Array;
  /** Index of the first child; leaves point to themselves. */
  readonly first: Int32Array;
  /** Leaf value at each leaf (0 elsewhere). */
  readonly leaf: Float32Array;
  /** Root of each tree. */
  readonly root: Int32Array;
  /** Steps from the root to the deepest leaf, per tree. */
  readonly depth: Int32Array;
}

const scratch = new Float32Array(1);
const scratchBits = new Int32Array(scratch.buffer);

/** The largest float32 strictly below a finite float32 `t`. */
export function float32Below(t: number): number {
  if (t === 0) return -1.401298464324817e-45;
  scratch[0] = t;
  scratchBits[0] += t > 0 ? -1 : 1;
  return scratch[0];
}

/**
 * Builds the branch-free layout, or returns undefined when the ensemble has categorical splits. The
 * ensemble's numbering already places each node's default child first with its sibling next to it, so this
 * is one linear pass.
 */
export function flattenForest(model: TreeEnsemble): FlatForest | undefined {
  if (model.categorical) return undefined;
  const total = model.feature.length;
  const flat: FlatForest = {
    slot: new Int32Array(total),
    bound: new Float32Array(total),
    first: new Int32Array(total),
    leaf: new Float32Array(total),
    root: model.treeRoot,
    depth: model.treeDepth,
  };
  // Tree by tree: a function called per tree is optimised early in the cold start, one long loop is not.
  const { treeRoot, numTrees } = model;
  for (let t = 0; t < numTrees; t++) flattenNodes(model, treeRoot[t], t + 1 < numTrees ? treeRoot[t + 1] : total, flat);
  return flat;
}

function flattenNodes(model: TreeEnsemble, from: number, to: number, flat: FlatForest): void {
  const { feature, value, left, right, defaultLeft, numFeature } = model;
  const { slot, bound, first, leaf } = flat;
  for (let at = from; at < to; at++) {
    const f = feature[at];
    if (f < 0) {
      first[at] = at;
      bound[at] = Number.POSITIVE_INFINITY;
      leaf[at] = value[at];
    } else if (defaultLeft[at]) {
      first[at] = left[at];
      slot[at] = f;
      bound[at] = float32Below(value[at]);
    } else {
      first[at] = right[at];
      slot[at] = numFeature + f;
      bound[at] = -value[at];
    }
  }
}

/** Writes the key vector of the row at `x[offset…]` into `keys[keyOffset…]` (2 × numFeature values). */
export function fillKeys(
  x: Float32Array,
  offset: number,
  numFeature: number,
  keys: Float64Array,
  keyOffset: number,
): void {
  for (let j = 0; j < numFeature; j++) {
    const v = x[offset + j];
    if (v !== v) {
      keys[keyOffset + j] = Number.NEGATIVE_INFINITY;
      keys[keyOffset + numFeature + j] = Number.NEGATIVE_INFINITY;
    } else {
      keys[keyOffset + j] = v;
      keys[keyOffset + numFeature + j] = -v;
    }
  }
}
