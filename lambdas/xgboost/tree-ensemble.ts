/**
 * The scorer's in-memory model: every tree's reachable nodes in flat typed arrays (depth-first order, so a
 * left child usually sits next to its parent), validated once so evaluation never meets a bad index or a cycle.
 */
import { ModelFormatError } from './model-error';
import { baseMargin, type Objective } from './objective';

/** One tree as a parser found it, in XGBoost's own node numbering. */
export interface RawTree {
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
  /** Parent of each node (root: any negative or out-of-range value), used to cross-check the links. */
  readonly parent?: ArrayLike<number>;
  readonly splitIndex: ArrayLike<number>;
  /** Split threshold of an internal node, leaf value of a leaf (XGBoost's `split_conditions`). */
  readonly condition: ArrayLike<number>;
  readonly defaultLeft: ArrayLike<number>;
  /** Nodes marked deleted (legacy binary only); they must be unreachable. */
  readonly deleted?: ArrayLike<number>;
  /** Categorical splits: node → categories that go right. */
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
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly defaultLeft: Uint8Array;
  /** Per node: 0 numeric, else 1 + index into catOffset/catLength. */
  readonly categorical?: Int32Array;
  readonly catOffset?: Int32Array;
  readonly catLength?: Int32Array;
  /** Bit sets of right-going categories, 32 per word. */
  readonly catBits?: Uint32Array;
  /** Deepest root-to-leaf path, in edges. */
  readonly maxDepth: number;
}

/** Largest category XGBoost accepts (2^24: exactly representable in float32). */
const MAX_CATEGORY = 1 << 24;
/** Bound on all category bit sets together (32-bit words), so a damaged file cannot exhaust memory. */
const MAX_CATEGORY_WORDS = 1 << 22;

/** Validates raw trees against the header and packs them. Any inconsistency throws {@link ModelFormatError}. */
export function assembleEnsemble(header: EnsembleHeader, trees: readonly RawTree[]): TreeEnsemble {
  const { numFeature, numGroup } = header;
  if (!Number.isInteger(numFeature) || numFeature < 1 || numFeature > 1_000_000) {
    throw new ModelFormatError(`invalid feature count ${numFeature}`);
  }
  if (!Number.isInteger(numGroup) || numGroup < 1 || numGroup > 10_000) {
    throw new ModelFormatError(`invalid output group count ${numGroup}`);
  }
  if (header.treeGroup.length !== trees.length) {
    throw new ModelFormatError(`tree_info has ${header.treeGroup.length} entries for ${trees.length} trees`);
  }
  if (header.treeWeight && header.treeWeight.length !== trees.length) {
    throw new ModelFormatError(`weight_drop has ${header.treeWeight.length} entries for ${trees.length} trees`);
  }
  if (header.baseScore.length !== 1 && header.baseScore.length !== numGroup) {
    throw new ModelFormatError(`base_score has ${header.baseScore.length} values for ${numGroup} output groups`);
  }
  const margin = new Float32Array(numGroup);
  for (let k = 0; k < numGroup; k++) {
    margin[k] = baseMargin(header.objective, header.baseScore[header.baseScore.length === 1 ? 0 : k]);
  }

  let total = 0;
  const orders = trees.map((tree, t) => {
    const reached = reachableNodes(tree, t, numFeature);
    total += reached.order.length;
    return reached;
  });

  const feature = new Int32Array(total);
  const value = new Float32Array(total);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const defaultLeft = new Uint8Array(total);
  const treeRoot = new Int32Array(trees.length);
  const treeGroup = new Int32Array(trees.length);
  const anyCategorical = trees.some((tree) => tree.categories && tree.categories.size > 0);
  const categorical = anyCategorical ? new Int32Array(total) : undefined;
  const catOffset: number[] = [];
  const catLength: number[] = [];
  const catWords: number[] = [];
  let maxDepth = 0;

  let base = 0;
  for (let t = 0; t < trees.length; t++) {
    const tree = trees[t];
    const group = header.treeGroup[t];
    if (!Number.isInteger(group) || group < 0 || group >= numGroup) {
      throw new ModelFormatError(`tree ${t} belongs to output group ${group}, outside 0..${numGroup - 1}`);
    }
    treeGroup[t] = group;
    treeRoot[t] = base;
    const { order, depth } = orders[t];
    maxDepth = Math.max(maxDepth, depth);
    const position = new Int32Array(tree.left.length);
    for (let i = 0; i < order.length; i++) position[order[i]] = base + i;
    for (let i = 0; i < order.length; i++) {
      const node = order[i];
      const at = base + i;
      const condition = tree.condition[node];
      if (tree.left[node] === -1) {
        if (!Number.isFinite(condition)) throw new ModelFormatError(`tree ${t} node ${node}: leaf value is not finite`);
        feature[at] = -1;
        value[at] = condition;
        continue;
      }
      feature[at] = tree.splitIndex[node];
      left[at] = position[tree.left[node]];
      right[at] = position[tree.right[node]];
      defaultLeft[at] = tree.defaultLeft[node] ? 1 : 0;
      const cats = tree.categories?.get(node);
      if (cats) {
        categorical![at] = catOffset.length + 1;
        catOffset.push(catWords.length);
        const words = packCategories(cats, t, node);
        catLength.push(words.length);
        if (catWords.length + words.length > MAX_CATEGORY_WORDS) {
          throw new ModelFormatError('categorical splits exceed the size limit (16 MiB of category sets)');
        }
        for (const word of words) catWords.push(word);
      } else {
        if (Number.isNaN(condition)) throw new ModelFormatError(`tree ${t} node ${node}: split threshold is NaN`);
        value[at] = condition;
      }
    }
    base += order.length;
  }

  let treeWeight: Float32Array | undefined;
  if (header.treeWeight) {
    treeWeight = Float32Array.from(header.treeWeight);
    for (const w of treeWeight) if (!Number.isFinite(w)) throw new ModelFormatError('a DART tree weight is not finite');
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
    numTrees: trees.length,
    treeRoot,
    treeGroup,
    treeWeight,
    feature,
    value,
    left,
    right,
    defaultLeft,
    categorical,
    catOffset: anyCategorical ? Int32Array.from(catOffset) : undefined,
    catLength: anyCategorical ? Int32Array.from(catLength) : undefined,
    catBits: anyCategorical ? Uint32Array.from(catWords) : undefined,
    maxDepth,
  };
}

/**
 * Nodes reachable from the root in depth-first (left first) order and the tree's depth, checking every link
 * on the way.
 */
function reachableNodes(tree: RawTree, t: number, numFeature: number): { order: Int32Array; depth: number } {
  const n = tree.left.length;
  if (n < 1) throw new ModelFormatError(`tree ${t} has no nodes`);
  for (const [name, array] of [
    ['right', tree.right],
    ['split index', tree.splitIndex],
    ['condition', tree.condition],
    ['default-left', tree.defaultLeft],
  ] as const) {
    if (array.length !== n)
      throw new ModelFormatError(`tree ${t}: ${name} array has ${array.length} entries, expected ${n}`);
  }
  const { parent, deleted } = tree;
  if (parent && parent.length !== n) throw new ModelFormatError(`tree ${t}: parent array length mismatch`);
  const seen = new Uint8Array(n);
  const order = new Int32Array(n);
  const stack = new Int32Array(n + 1);
  const depths = new Int32Array(n + 1);
  let count = 0;
  let top = 1;
  let deepest = 0;
  while (top > 0) {
    top--;
    const node = stack[top];
    const depth = depths[top];
    if (seen[node]) throw new ModelFormatError(`tree ${t}: node ${node} is reached twice (not a tree)`);
    seen[node] = 1;
    if (deleted && deleted[node]) throw new ModelFormatError(`tree ${t}: deleted node ${node} is reachable`);
    order[count++] = node;
    const l = tree.left[node];
    const r = tree.right[node];
    if (l === -1) {
      if (r !== -1) throw new ModelFormatError(`tree ${t} node ${node}: leaf with a right child`);
      if (depth > deepest) deepest = depth;
      continue;
    }
    if (!(l > 0 && l < n && r > 0 && r < n && Number.isInteger(l) && Number.isInteger(r))) {
      throw new ModelFormatError(`tree ${t} node ${node}: child index outside 1..${n - 1}`);
    }
    if (parent && (parent[l] !== node || parent[r] !== node)) {
      throw new ModelFormatError(`tree ${t} node ${node}: a child's parent link does not point back`);
    }
    const feature = tree.splitIndex[node];
    if (!Number.isInteger(feature) || feature < 0 || feature >= numFeature) {
      throw new ModelFormatError(`tree ${t} node ${node}: split feature ${feature} outside 0..${numFeature - 1}`);
    }
    if (top + 2 > n) throw new ModelFormatError(`tree ${t}: more branches than nodes (not a tree)`);
    stack[top] = r;
    depths[top++] = depth + 1;
    stack[top] = l;
    depths[top++] = depth + 1;
  }
  return { order: order.subarray(0, count), depth: deepest };
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
