/**
 * A branch-free layout of a numeric (non-categorical) ensemble. Each row is first expanded into a key
 * vector of 2 × numFeature + 1 doubles: `key[f] = x[f]` and `key[F + f] = -x[f]`, with NaN as -Infinity in
 * both, and a last key of -Infinity. Each node then steps with `next = first + (key[slot] > bound)`, its two
 * children side by side at `first`, ordered so that the comparison is false exactly when XGBoost goes to
 * `first`:
 *
 * - default-left node: children [left, right], slot f, bound = the float32 just below the threshold:
 *   the test is `x >= threshold`, false for NaN (→ left);
 * - default-right node: children [right, left], slot F + f, bound = -threshold: the test is
 *   `x < threshold`, false for NaN (→ right).
 *
 * Both are exact for float32 inputs. A leaf points to itself, reads the last key and keeps its value in
 * `bound`: -Infinity exceeds no (finite) value, so the walk stays there, every walk takes a fixed number of
 * steps, and several walks interleave without data-dependent branches.
 */
import { keyWidth } from './key-layout';
import type { TreeEnsemble } from './tree-ensemble';

/** Flat arrays of a numeric ensemble; see the module comment. */
export interface FlatForest {
  /** Index into the row's key vector read at each node (2 × numFeature at leaves). */
  readonly slot: Int32Array;
  /** Comparison bound of each split, value of each leaf; every one is a float32, so the array is one. */
  readonly bound: Float32Array;
  /** Index of the first child; leaves point to themselves. */
  readonly first: Int32Array;
  /** Root of each tree. */
  readonly root: Int32Array;
  /** Steps from the root to the deepest leaf, per tree. */
  readonly depth: Int32Array;
}

/**
 * The branch-free layout of a model, or undefined when it has categorical splits. Its arrays are the
 * ensemble's own (`assembleEnsemble` builds them in the pass that validates and numbers the nodes).
 */
export function flattenForest(model: TreeEnsemble): FlatForest | undefined {
  if (model.nodes.kind !== 'flat') return undefined;
  return {
    slot: model.nodes.slot,
    bound: model.nodes.bound,
    first: model.first,
    root: model.treeRoot,
    depth: model.treeDepth,
  };
}

/** Key vectors for `rows` rows, each `keyWidth(numFeature)` long with its last key (-Infinity) in place. */
export function allocateKeys(rows: number, numFeature: number): Float64Array {
  const width = keyWidth(numFeature);
  const keys = new Float64Array(rows * width);
  for (let r = 1; r <= rows; r++) keys[r * width - 1] = Number.NEGATIVE_INFINITY;
  return keys;
}

/**
 * Writes the key vector of the row at `x[offset…]` into `keys[keyOffset…]` (its first 2 × numFeature values;
 * the last key is set once by {@link allocateKeys}).
 */
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
