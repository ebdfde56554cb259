/**
 * The scorer's in-memory model: every tree's reachable nodes in flat typed arrays, validated once so
 * evaluation never meets a bad index or a cycle. Nodes are numbered breadth-first with each node's two
 * children side by side — the one a missing value goes to first — which is the layout the branch-free
 * evaluator needs, so building it costs a single pass.
 */
import { leafKey } from './key-layout';
import { ModelFormatError } from './model-error';
import { baseMargin, type Objective } from './objective';

/** 32-bit words per node record in {@link RawForest.nodes}. */
export const NODE_WORDS = 5;

/**
 * All trees as a parser found them: tree t owns the nodes numbered `offset[t]…offset[t+1]-1` (its global
 * node indices), whose records start at word `start[t]` of `nodes`, one record of {@link NODE_WORDS} 32-bit
 * words per node, XGBoost's own `RegTree::Node` (which the legacy binary format stores verbatim):
 *
 * 0. parent (the root's is not a node index; bit 31 may flag a left child),
 * 1. left child, -1 for a leaf,
 * 2. right child,
 * 3. split feature in bits 0–30, bit 31 set when missing values go left; all ones marks a deleted node,
 * 4. split threshold of an internal node or value of a leaf, as float32 bits.
 *
 * Child and parent indices are local to their tree (0 = its root), as XGBoost numbers them. Trees' records
 * need not be adjacent: the legacy reader uses the file's own words, with each tree's statistics in between.
 */
export interface RawForest {
  readonly offset: Int32Array;
  /** Word index in `nodes` of each tree's first record. */
  readonly start: Int32Array;
  readonly nodes: Int32Array;
  /** Categorical splits: global node index → categories that go right. */
  readonly categories?: ReadonlyMap<number, ArrayLike<number>>;
  /**
   * Each node's cover (XGBoost's `sum_hess`: the hessian sum of the training rows that reached it), by global
   * node index, as float32 bits; absent when the file holds none. Only explanations (TreeSHAP) read it.
   */
  readonly coverBits?: Int32Array;
}

/** What a parser extracted besides the trees. */
export interface EnsembleHeader {
  readonly format: 'binary' | 'json' | 'ubjson';
  readonly objective: Objective;
  readonly booster: 'gbtree' | 'dart';
  readonly numFeature: number;
  /** Output groups: K for multi-class, else 1. */
  readonly numGroup: number;
  /** Saved base_score per group (one value broadcasts), untransformed. */
  readonly baseScore: readonly number[];
  readonly treeGroup: ArrayLike<number>;
  /** DART tree weights. */
  readonly treeWeight?: ArrayLike<number>;
  readonly attributes: Readonly<Record<string, string>>;
  readonly featureNames?: readonly string[];
  readonly featureTypes?: readonly string[];
  /** XGBoost version that wrote the model, when recorded. */
  readonly version?: readonly number[];
}

/** A validated, evaluation-ready tree ensemble. */
export interface TreeEnsemble extends Omit<EnsembleHeader, 'baseScore' | 'treeGroup' | 'treeWeight'> {
  /** Initial margin per group (objective-transformed base_score, float32). */
  readonly baseMargin: Float32Array;
  readonly numTrees: number;
  /** Root node of each tree. */
  readonly treeRoot: Int32Array;
  readonly treeGroup: Int32Array;
  /** DART weights, else undefined. */
  readonly treeWeight?: Float32Array;
  /** Deepest root-to-leaf path of each tree, in edges. */
  readonly treeDepth: Int32Array;
  /**
   * A split's default child, the one missing values go to; its other child is the next node
   * (`first + 1`). A leaf points to itself.
   */
  readonly first: Int32Array;
  /** The other node arrays, in the layout its evaluator reads. */
  readonly nodes: FlatNodes | WalkNodes;
  /** Each packed node's cover (hessian sum of the training rows that reached it), when the file holds it. */
  readonly cover?: Float32Array;
}

/**
 * Node arrays of a model without categorical splits, for the branch-free evaluator (see flat-forest.ts): a
 * row becomes a key vector of 2 × numFeature values plus a last entry of -Infinity, and each node steps to
 * `first + (key[slot] > bound)`.
 */
export interface FlatNodes {
  readonly kind: 'flat';
  /** Key read at each node: feature f (default left) or numFeature + f; at leaves the last key, -Infinity. */
  readonly slot: Int32Array;
  /**
   * A split's bound (the float32 below its threshold when missing values go left, else minus the threshold);
   * a leaf's value, which -Infinity never exceeds, so the walk stays on the leaf.
   */
  readonly bound: Float32Array;
}

/** Node arrays of a model with categorical splits, for the plain node walk. */
export interface WalkNodes {
  readonly kind: 'walk';
  /** Split feature per node; -1 marks a leaf. */
  readonly feature: Int32Array;
  /** Threshold of a numeric split, value of a leaf. */
  readonly value: Float32Array;
  /** 1 when a split's default child is its left child (so `first` is left, `first + 1` right). */
  readonly defaultLeft: Uint8Array;
  /** Per node: 0 numeric, else 1 + index into catOffset/catLength. */
  readonly categorical: Int32Array;
  readonly catOffset: Int32Array;
  readonly catLength: Int32Array;
  /** Bit sets of right-going categories, 32 per word. */
  readonly catBits: Uint32Array;
}

/** Largest category XGBoost accepts (2^24: exactly representable in float32). */
const MAX_CATEGORY = 1 << 24;
/** Bound on all category bit sets together (32-bit words), so a damaged file cannot exhaust memory. */
const MAX_CATEGORY_WORDS = 1 << 22;
/** Exponent bits of a float32: all set for infinities and NaN. */
const FLOAT32_EXPONENT = 0x7f800000;
/** Float32 bit patterns of the sign bit and of the negative float32 nearest 0. */
const FLOAT32_SIGN = 0x80000000 | 0;
const FLOAT32_MINUS_TINY = 0x80000001 | 0;

/** Validates raw trees against the header and packs them. Any inconsistency throws {@link ModelFormatError}. */
export function assembleEnsemble(header: EnsembleHeader, forest: RawForest): TreeEnsemble {
  const { numFeature, numGroup } = header;
  const numTrees = forest.offset.length - 1;
  if (!Number.isInteger(numFeature) || numFeature < 1 || numFeature > 1_000_000) {
    throw new ModelFormatError(`invalid feature count ${numFeature}`);
  }
  if (!Number.isInteger(numGroup) || numGroup < 1 || numGroup > 10_000) {
    throw new ModelFormatError(`invalid output group count ${numGroup}`);
  }
  if (header.treeGroup.length !== numTrees) {
    throw new ModelFormatError(`tree_info has ${header.treeGroup.length} entries for ${numTrees} trees`);
  }
  if (header.treeWeight && header.treeWeight.length !== numTrees) {
    throw new ModelFormatError(`weight_drop has ${header.treeWeight.length} entries for ${numTrees} trees`);
  }
  if (header.baseScore.length !== 1 && header.baseScore.length !== numGroup) {
    throw new ModelFormatError(`base_score has ${header.baseScore.length} values for ${numGroup} output groups`);
  }
  if (forest.start.length !== numTrees) {
    throw new ModelFormatError(`node records are located for ${forest.start.length} of ${numTrees} trees`);
  }
  let largest = 0;
  for (let t = 0; t < numTrees; t++) {
    const n = forest.offset[t + 1] - forest.offset[t];
    if (!(n >= 1 && forest.start[t] >= 0 && forest.start[t] + n * NODE_WORDS <= forest.nodes.length)) {
      throw new ModelFormatError(`tree ${t}: ${n} node records do not fit the node array`);
    }
    largest = Math.max(largest, n);
  }
  const margin = new Float32Array(numGroup);
  for (let k = 0; k < numGroup; k++) {
    margin[k] = baseMargin(header.objective, header.baseScore[header.baseScore.length === 1 ? 0 : k]);
  }
  const treeGroup = new Int32Array(numTrees);
  for (let t = 0; t < numTrees; t++) {
    const group = header.treeGroup[t];
    if (!Number.isInteger(group) || group < 0 || group >= numGroup) {
      throw new ModelFormatError(`tree ${t} belongs to output group ${group}, outside 0..${numGroup - 1}`);
    }
    treeGroup[t] = group;
  }

  // Sized for every stored node; unreachable (deleted) ones are cut off at the end.
  const entries = forest.offset[numTrees];
  const categorical = forest.categories !== undefined && forest.categories.size > 0;
  const first = new Int32Array(entries);
  const values = new Float32Array(entries); // `bound` of a flat model, `value` of a walked one
  const valueBits = new Int32Array(values.buffer);
  const cover = forest.coverBits ? new Float32Array(entries) : undefined;
  const coverBits = cover ? { coverBits: new Int32Array(cover.buffer) } : {};
  const out: PackedNodes = categorical
    ? {
        first,
        valueBits,
        ...coverBits,
        walk: {
          feature: new Int32Array(entries),
          defaultLeft: new Uint8Array(entries),
          categorical: new Int32Array(entries),
          categories: { offset: [], length: [], words: [] },
        },
      }
    : { first, valueBits, ...coverBits, slot: new Int32Array(entries) };
  const order = new Int32Array(largest);
  const treeRoot = new Int32Array(numTrees);
  const treeDepth = new Int32Array(numTrees);
  let total = 0;
  // One call per tree: the calls run in V8's baseline tiers during the cold start, so the loop body is kept
  // short and its error reports live in a separate function.
  for (let t = 0; t < numTrees; t++) {
    treeRoot[t] = total;
    total += packTree(forest, t, numFeature, order, out, total, treeDepth);
  }

  let treeWeight: Float32Array | undefined;
  if (header.treeWeight) {
    treeWeight = Float32Array.from(header.treeWeight);
    for (const w of treeWeight) if (!Number.isFinite(w)) throw new ModelFormatError('a DART tree weight is not finite');
  }

  const cut = <A extends Int32Array | Float32Array | Uint8Array>(array: A): A =>
    total === entries ? array : (array.subarray(0, total) as A);
  let nodes: FlatNodes | WalkNodes;
  if (out.walk) {
    const { feature, defaultLeft, categories } = out.walk;
    nodes = {
      kind: 'walk',
      feature: cut(feature),
      value: cut(values),
      defaultLeft: cut(defaultLeft),
      categorical: cut(out.walk.categorical),
      catOffset: Int32Array.from(categories.offset),
      catLength: Int32Array.from(categories.length),
      catBits: Uint32Array.from(categories.words),
    };
  } else {
    nodes = { kind: 'flat', slot: cut(out.slot!), bound: cut(values) };
  }
  return {
    format: header.format,
    objective: header.objective,
    booster: header.booster,
    numFeature,
    numGroup,
    attributes: header.attributes,
    featureNames: header.featureNames,
    featureTypes: header.featureTypes,
    version: header.version,
    baseMargin: margin,
    numTrees,
    treeRoot,
    treeGroup,
    treeWeight,
    treeDepth,
    first: cut(first),
    nodes,
    ...(cover ? { cover: cut(cover) } : {}),
  };
}

/** The output arrays of {@link assembleEnsemble}, filled tree by tree: flat (`slot`) or walked (`walk`). */
interface PackedNodes {
  readonly first: Int32Array;
  /**
   * Bits of the float32 per node (bound or leaf value of a flat model; threshold or leaf value of a walked
   * one): float32s are copied as integers, never as JavaScript numbers.
   */
  readonly valueBits: Int32Array;
  readonly slot?: Int32Array;
  /** Float32 bits of each node's cover, when the forest has them. */
  readonly coverBits?: Int32Array;
  readonly walk?: {
    readonly feature: Int32Array;
    readonly defaultLeft: Uint8Array;
    readonly categorical: Int32Array;
    readonly categories: { offset: number[]; length: number[]; words: number[] };
  };
}

/**
 * Walks tree `t` breadth-first from its root, checking every link, and writes its reachable nodes to the
 * packed arrays from entry `at` on, each node's two children side by side (the default child first). Records
 * the tree's depth in `treeDepth[t]` and returns how many nodes it wrote.
 *
 * A split is accepted only if its children are two different nodes other than the root whose parent fields
 * name it. As each node has one parent field, no node is then reached twice and no cycle is entered, so the
 * walk needs no visited set: it ends after at most n nodes, and `order` (sized for the largest tree) holds it.
 */
function packTree(
  forest: RawForest,
  t: number,
  numFeature: number,
  order: Int32Array,
  out: PackedNodes,
  at: number,
  treeDepth: Int32Array,
): number {
  const n = forest.offset[t + 1] - forest.offset[t];
  const start = forest.start[t];
  const { nodes } = forest;
  const { first, valueBits, slot, walk, coverBits } = out;
  const leafSlot = leafKey(numFeature);
  const covers = forest.coverBits;
  const base = forest.offset[t];
  order[0] = 0;
  let count = 1;
  for (let head = 0; head < count; head++) {
    const node = order[head];
    const word = start + node * NODE_WORDS;
    const to = at + head;
    const l = nodes[word + 1];
    const r = nodes[word + 2];
    const sindex = nodes[word + 3];
    const bits = nodes[word + 4];
    if (coverBits) coverBits[to] = covers![base + node];
    if (l === -1) {
      if (r !== -1 || sindex === -1 || (bits & FLOAT32_EXPONENT) === FLOAT32_EXPONENT) {
        throw nodeError(forest, t, node, numFeature);
      }
      first[to] = to;
      valueBits[to] = bits;
      if (slot) slot[to] = leafSlot;
      else walk!.feature[to] = -1;
      continue;
    }
    const split = sindex & 0x7fffffff;
    if (
      !(l > 0 && l < n && r > 0 && r < n && l !== r) ||
      (nodes[start + l * NODE_WORDS] & 0x7fffffff) !== node ||
      (nodes[start + r * NODE_WORDS] & 0x7fffffff) !== node ||
      sindex === -1 ||
      split >= numFeature
    ) {
      throw nodeError(forest, t, node, numFeature);
    }
    const goesLeft = sindex >>> 31;
    order[count] = goesLeft ? l : r;
    order[count + 1] = goesLeft ? r : l;
    first[to] = at + count;
    count += 2;
    if (walk) {
      walk.feature[to] = split;
      walk.defaultLeft[to] = goesLeft;
      const cats = forest.categories?.get(forest.offset[t] + node);
      if (cats) {
        addCategories(walk.categories, walk.categorical, to, cats, t, node);
        continue;
      }
    }
    if ((bits & 0x7fffffff) > FLOAT32_EXPONENT) throw nodeError(forest, t, node, numFeature);
    if (!slot) {
      valueBits[to] = bits;
    } else if (goesLeft) {
      // true when x >= threshold, i.e. x > the float32 below it (for ±0: the negative float32 nearest 0)
      slot[to] = split;
      valueBits[to] = (bits & 0x7fffffff) === 0 ? FLOAT32_MINUS_TINY : bits > 0 ? bits - 1 : bits + 1;
    } else {
      // true when -x > -threshold, i.e. x < threshold
      slot[to] = numFeature + split;
      valueBits[to] = bits ^ FLOAT32_SIGN;
    }
  }
  // The last node reached breadth-first is a deepest one; its (checked) parent links lead to the root.
  let depth = 0;
  for (let node = order[count - 1]; node !== 0; node = nodes[start + node * NODE_WORDS] & 0x7fffffff) depth++;
  treeDepth[t] = depth;
  return count;
}

/** Names what is wrong with the node {@link packTree} refused (kept out of its loop). */
function nodeError(forest: RawForest, t: number, node: number, numFeature: number): ModelFormatError {
  const n = forest.offset[t + 1] - forest.offset[t];
  const word = forest.start[t] + node * NODE_WORDS;
  const { nodes } = forest;
  const [l, r, sindex, bits] = [nodes[word + 1], nodes[word + 2], nodes[word + 3], nodes[word + 4]];
  const at = `tree ${t} node ${node}`;
  if (sindex === -1) return new ModelFormatError(`tree ${t}: deleted node ${node} is reachable`);
  if (l === -1) {
    if (r !== -1) return new ModelFormatError(`${at}: leaf with a right child`);
    return new ModelFormatError(`${at}: leaf value is not finite`);
  }
  if (!(l > 0 && l < n && r > 0 && r < n)) return new ModelFormatError(`${at}: child index outside 1..${n - 1}`);
  if (l === r) return new ModelFormatError(`${at}: both children are node ${l}`);
  const parentOf = (child: number) => nodes[forest.start[t] + child * NODE_WORDS] & 0x7fffffff;
  if (parentOf(l) !== node || parentOf(r) !== node) {
    return new ModelFormatError(`${at}: a child's parent link does not point back (not a tree)`);
  }
  const split = sindex & 0x7fffffff;
  if (split >= numFeature) {
    return new ModelFormatError(`${at}: split feature ${split} outside 0..${numFeature - 1}`);
  }
  if ((bits & 0x7fffffff) > FLOAT32_EXPONENT) return new ModelFormatError(`${at}: split threshold is NaN`);
  return new ModelFormatError(`${at}: invalid node`);
}

/** Stores a categorical split's right-going categories as a bit set and points node `to` at it. */
function addCategories(
  table: NonNullable<PackedNodes['walk']>['categories'],
  categorical: Int32Array,
  to: number,
  categories: ArrayLike<number>,
  t: number,
  node: number,
): void {
  let max = -1;
  for (let i = 0; i < categories.length; i++) {
    const c = categories[i];
    if (!Number.isInteger(c) || c < 0 || c >= MAX_CATEGORY) {
      throw new ModelFormatError(`tree ${t} node ${node}: invalid category ${c}`);
    }
    max = Math.max(max, c);
  }
  const words = new Array<number>(Math.floor(max / 32) + 1).fill(0);
  for (let i = 0; i < categories.length; i++) words[categories[i] >>> 5] |= 1 << (categories[i] & 31);
  if (table.words.length + words.length > MAX_CATEGORY_WORDS) {
    throw new ModelFormatError('categorical splits exceed the size limit (16 MiB of category sets)');
  }
  categorical[to] = table.offset.length + 1;
  table.offset.push(table.words.length);
  table.length.push(words.length);
  for (const word of words) table.words.push(word >>> 0);
}
