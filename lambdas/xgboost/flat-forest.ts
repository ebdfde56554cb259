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

/** Bit pattern of the largest float32 strictly below the finite float32 whose bit pattern is `bits`. */
function bitsBelow(bits: number): number {
  if ((bits & 0x7fffffff) === 0) return FLOAT32_MINUS_TINY; // ±0: the negative subnormal nearest 0
  return bits > 0 ? bits - 1 : bits + 1; // magnitude down for positives, up for negatives
}

/** Bit patterns: the negative float32 nearest 0, +Infinity, and the sign bit. */
const FLOAT32_MINUS_TINY = 0x80000001 | 0;
const FLOAT32_INFINITY = 0x7f800000;
const FLOAT32_SIGN = 0x80000000 | 0;

/**
 * Builds the branch-free layout, or returns undefined when the ensemble has categorical splits. The
 * ensemble's numbering already places each node's default child first with its sibling next to it, so this
 * is one linear pass. Float32s are handled as bit patterns, which keeps the pass free of allocations
 * before V8 optimises it (a float32 read as a JavaScript number is a heap object in unoptimised code).
 */
export function flattenForest(model: TreeEnsemble): FlatForest | undefined {
  if (model.categorical) return undefined;
  const total = model.feature.length;
  const flat: FlatForest = {
    slot: new Int32Array(total),
    bound: new Float32Array(total),
    first: model.first,
    leaf: model.value,
    root: model.treeRoot,
    depth: model.treeDepth,
  };
  const valueBits = new Int32Array(model.value.buffer, model.value.byteOffset, total);
  const boundBits = new Int32Array(flat.bound.buffer);
  // Tree by tree: a function called per tree is optimised early in the cold start, one long loop is not.
  const { treeRoot, numTrees } = model;
  for (let t = 0; t < numTrees; t++) {
    const to = t + 1 < numTrees ? treeRoot[t + 1] : total;
    flattenNodes(model, treeRoot[t], to, flat.slot, boundBits, valueBits);
  }
  return flat;
}

function flattenNodes(
  model: TreeEnsemble,
  from: number,
  to: number,
  slot: Int32Array,
  bound: Int32Array,
  value: Int32Array,
): void {
  const { feature, defaultLeft, numFeature } = model;
  for (let at = from; at < to; at++) {
    const f = feature[at];
    if (f < 0) {
      bound[at] = FLOAT32_INFINITY;
    } else if (defaultLeft[at]) {
      slot[at] = f;
      bound[at] = bitsBelow(value[at]);
    } else {
      slot[at] = numFeature + f;
      bound[at] = value[at] ^ FLOAT32_SIGN; // -threshold
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
