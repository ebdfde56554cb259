/**
 * The scorer's in-memory model: every tree's reachable nodes in flat typed arrays, validated once so
 * evaluation never meets a bad index or a cycle. Nodes are numbered breadth-first with each node's two
 * children side by side — the one a missing value goes to first — which is the layout the branch-free
 * evaluator needs, so building it costs a single pass.
 */
import { ModelFormatError } from './model-error';
import { baseMargin, type Objective } from './objective';

/** 32-bit words per node record in {@link RawForest.nodes}. */
export const NODE_WORDS = 5;

/**
 * All trees as a parser found them, concatenated: tree t owns nodes `offset[t]…offset[t+1]-1`. Each node is
 * a record of {@link NODE_WORDS} 32-bit words, XGBoost's own `RegTree::Node` (which the legacy binary format
 * stores verbatim):
 *
 * 0. parent (the root's is not a node index; bit 31 may flag a left child),
 * 1. left child, -1 for a leaf,
 * 2. right child,
 * 3. split feature in bits 0–30, bit 31 set when missing values go left; all ones marks a deleted node,
 * 4. split threshold of an internal node or value of a leaf, as float32 bits.
 *
 * Child and parent indices are local to their tree (0 = its root), as XGBoost numbers them.
 */
export interface RawForest {
  readonly offset: Int32Array;
  readonly nodes: Int32Array;
  /** Categorical splits: global node index → categories that go right. */
  readonly categories?: ReadonlyMap<number, ArrayLike<number>>;
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
  /** Split feature per node; -1 marks a leaf. */
  readonly feature: Int32Array;
  /** Threshold of a split, value of a leaf. */
  readonly value: Float32Array;
  /**
   * A split's default child, the one missing values go to; its other child is the next node
   * (`first + 1`). A leaf points to itself.
   */
  readonly first: Int32Array;
  /** 1 when a split's default child is its left child (so `first` is left, `first + 1` right). */
  readonly defaultLeft: Uint8Array;
  /** Per node: 0 numeric, else 1 + index into catOffset/catLength. */
  readonly categorical?: Int32Array;
  readonly catOffset?: Int32Array;
  readonly catLength?: Int32Array;
  /** Bit sets of right-going categories, 32 per word. */
  readonly catBits?: Uint32Array;
  /** Deepest root-to-leaf path of each tree, in edges. */
  readonly treeDepth: Int32Array;
}

/** Largest category XGBoost accepts (2^24: exactly representable in float32). */
const MAX_CATEGORY = 1 << 24;
/** Bound on all category bit sets together (32-bit words), so a damaged file cannot exhaust memory. */
const MAX_CATEGORY_WORDS = 1 << 22;
/** Exponent bits of a float32: all set for infinities and NaN. */
const FLOAT32_EXPONENT = 0x7f800000;

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
  const entries = forest.offset[numTrees];
  if (forest.nodes.length !== entries * NODE_WORDS) {
    throw new ModelFormatError(`node records hold ${forest.nodes.length} words, expected ${entries * NODE_WORDS}`);
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
  const value = new Float32Array(entries);
  const packed: PackedNodes = {
    feature: new Int32Array(entries),
    valueBits: new Int32Array(value.buffer),
    first: new Int32Array(entries),
    defaultLeft: new Uint8Array(entries),
    categorical: forest.categories !== undefined && forest.categories.size > 0 ? new Int32Array(entries) : undefined,
    categories: { offset: [], length: [], words: [] },
  };
  let largest = 0;
  for (let t = 0; t < numTrees; t++) largest = Math.max(largest, forest.offset[t + 1] - forest.offset[t]);
  const scratch: TreeScratch = {
    seen: new Uint8Array(largest),
    order: new Int32Array(largest),
    level: new Int32Array(largest),
  };
  const treeRoot = new Int32Array(numTrees);
  const treeDepth = new Int32Array(numTrees);
  let total = 0;
  // One call per tree: V8 optimises a function called hundreds of times long before it would replace a
  // long-running loop on the stack, and this runs during the cold start.
  for (let t = 0; t < numTrees; t++) {
    treeRoot[t] = total;
    total += packTree(forest, t, numFeature, scratch, packed, total, treeDepth);
  }

  let treeWeight: Float32Array | undefined;
  if (header.treeWeight) {
    treeWeight = Float32Array.from(header.treeWeight);
    for (const w of treeWeight) if (!Number.isFinite(w)) throw new ModelFormatError('a DART tree weight is not finite');
  }

  const cut = <A extends Int32Array | Float32Array | Uint8Array>(array: A): A =>
    total === entries ? array : (array.subarray(0, total) as A);
  const { categorical, categories } = packed;
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
    feature: cut(packed.feature),
    value: cut(value),
    first: cut(packed.first),
    defaultLeft: cut(packed.defaultLeft),
    categorical: categorical && cut(categorical),
    catOffset: categorical && Int32Array.from(categories.offset),
    catLength: categorical && Int32Array.from(categories.length),
    catBits: categorical && Uint32Array.from(categories.words),
    treeDepth,
  };
}

/** The output arrays of {@link assembleEnsemble}, filled tree by tree. */
interface PackedNodes {
  readonly feature: Int32Array;
  /** The bits of the value array: float32s are copied as integers, never as JavaScript numbers. */
  readonly valueBits: Int32Array;
  readonly first: Int32Array;
  readonly defaultLeft: Uint8Array;
  readonly categorical: Int32Array | undefined;
  readonly categories: { offset: number[]; length: number[]; words: number[] };
}

/** Per-tree working space, sized for the largest tree and shared. */
interface TreeScratch {
  readonly seen: Uint8Array;
  /** Local node index at each breadth-first position. */
  readonly order: Int32Array;
  readonly level: Int32Array;
}

/**
 * Walks tree `t` breadth-first from its root, checking every link, and writes its reachable nodes to the
 * packed arrays from entry `at` on, each node's two children side by side (the default child first). Records
 * the tree's depth in `treeDepth[t]` and returns how many nodes it wrote.
 */
function packTree(
  forest: RawForest,
  t: number,
  numFeature: number,
  scratch: TreeScratch,
  out: PackedNodes,
  at: number,
  treeDepth: Int32Array,
): number {
  const base = forest.offset[t];
  const n = forest.offset[t + 1] - base;
  if (n < 1) throw new ModelFormatError(`tree ${t} has no nodes`);
  const { nodes, categories } = forest;
  const { seen, order, level } = scratch;
  const { feature, valueBits, categorical } = out;
  seen.fill(0, 0, n);
  seen[0] = 1;
  order[0] = 0;
  level[0] = 0;
  let count = 1;
  let deepest = 0;
  for (let head = 0; head < count; head++) {
    const node = order[head];
    const entry = base + node;
    const word = entry * NODE_WORDS;
    const to = at + head;
    const l = nodes[word + 1];
    const r = nodes[word + 2];
    const sindex = nodes[word + 3];
    const bits = nodes[word + 4];
    if (sindex === -1) throw new ModelFormatError(`tree ${t}: deleted node ${node} is reachable`);
    if (l === -1) {
      if (r !== -1) throw new ModelFormatError(`tree ${t} node ${node}: leaf with a right child`);
      if ((bits & FLOAT32_EXPONENT) === FLOAT32_EXPONENT) {
        throw new ModelFormatError(`tree ${t} node ${node}: leaf value is not finite`);
      }
      if (level[head] > deepest) deepest = level[head];
      feature[to] = -1;
      valueBits[to] = bits;
      out.first[to] = to;
      continue;
    }
    if (!(l > 0 && l < n && r > 0 && r < n)) {
      throw new ModelFormatError(`tree ${t} node ${node}: child index outside 1..${n - 1}`);
    }
    if (seen[l] || seen[r] || l === r) {
      throw new ModelFormatError(`tree ${t}: node ${node} links to a node reached twice (not a tree)`);
    }
    const parentOfLeft = nodes[(base + l) * NODE_WORDS] & 0x7fffffff;
    const parentOfRight = nodes[(base + r) * NODE_WORDS] & 0x7fffffff;
    if (parentOfLeft !== node || parentOfRight !== node) {
      throw new ModelFormatError(`tree ${t} node ${node}: a child's parent link does not point back`);
    }
    const split = sindex & 0x7fffffff;
    if (split >= numFeature) {
      throw new ModelFormatError(`tree ${t} node ${node}: split feature ${split} outside 0..${numFeature - 1}`);
    }
    seen[l] = 1;
    seen[r] = 1;
    const goesLeft = sindex >>> 31;
    order[count] = goesLeft ? l : r;
    order[count + 1] = goesLeft ? r : l;
    level[count] = level[count + 1] = level[head] + 1;
    out.first[to] = at + count;
    count += 2;
    feature[to] = split;
    out.defaultLeft[to] = goesLeft;
    const cats = categorical ? categories!.get(entry) : undefined;
    if (cats) {
      const table = out.categories;
      categorical![to] = table.offset.length + 1;
      table.offset.push(table.words.length);
      const words = packCategories(cats, t, node);
      table.length.push(words.length);
      if (table.words.length + words.length > MAX_CATEGORY_WORDS) {
        throw new ModelFormatError('categorical splits exceed the size limit (16 MiB of category sets)');
      }
      for (const word of words) table.words.push(word);
    } else {
      if ((bits & 0x7fffffff) > FLOAT32_EXPONENT) {
        throw new ModelFormatError(`tree ${t} node ${node}: split threshold is NaN`);
      }
      valueBits[to] = bits;
    }
  }
  treeDepth[t] = deepest;
  return count;
}

function packCategories(categories: ArrayLike<number>, t: number, node: number): number[] {
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
  return words.map((w) => w >>> 0);
}
