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
  /** Index of the first child; leaves point to themselves (the ensemble's own array). */
  readonly first: Int32Array;
  /**
   * Value at each leaf (the ensemble's value array: it holds thresholds at splits, which are never read, as
   * every walk ends on a leaf).
   */
  readonly leaf: Float32Array;
  /** Root of each tree. */
  readonly root: Int32Array;
  /** Steps from the root to the deepest leaf, per tree. */
  readonly depth: Int32Array;
}

/**
 * The branch-free layout of a model, or undefined when it has categorical splits. Its arrays are the
 * ensemble's own: `assembleEnsemble` fills `slot` and `bound` in the pass that validates and numbers
 * the nodes, so nothing is copied here.
 */
export function flattenForest(model: TreeEnsemble): FlatForest | undefined {
  if (model.categorical || !model.slot || !model.bound) return undefined;
  return {
    slot: model.slot,
    bound: model.bound,
    first: model.first,
    leaf: model.value,
    root: model.treeRoot,
    depth: model.treeDepth,
  };
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
