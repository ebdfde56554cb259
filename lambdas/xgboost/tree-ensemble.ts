/**
 * The scorer's in-memory model: every tree's reachable nodes in flat typed arrays, validated once so
 * evaluation never meets a bad index or a cycle. Nodes are numbered breadth-first with each node's two
 * children side by side — the one a missing value goes to first — which is the layout the branch-free
 * evaluator needs, so building it costs a single pass.
 */
import { ModelFormatError } from './model-error';
import { baseMargin, type Objective } from './objective';

/**
 * All trees as a parser found them, concatenated: tree t owns entries `offset[t]…offset[t+1]-1`, and the
 * node indices stored in `left`, `right` and `parent` are local to their tree (0 = its root), as XGBoost
 * numbers them.
 */
export interface RawForest {
  readonly offset: Int32Array;
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
  /** Parent of each node (root: any value that is not a node index), used to cross-check the links. */
  readonly parent?: ArrayLike<number>;
  readonly splitIndex: ArrayLike<number>;
  /** Split threshold of an internal node, leaf value of a leaf (XGBoost's `split_conditions`). */
  readonly condition: ArrayLike<number>;
  readonly defaultLeft: ArrayLike<number>;
  /** Nodes marked deleted (legacy binary only); they must be unreachable. */
  readonly deleted?: ArrayLike<number>;
  /** Categorical splits: global entry index → categories that go right. */
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
  /** Deepest root-to-leaf path of each tree, in edges. */
  readonly treeDepth: Int32Array;
}

/** Largest category XGBoost accepts (2^24: exactly representable in float32). */
const MAX_CATEGORY = 1 << 24;
/** Bound on all category bit sets together (32-bit words), so a damaged file cannot exhaust memory. */
const MAX_CATEGORY_WORDS = 1 << 22;

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
  for (const [name, array] of [
    ['left', forest.left],
    ['right', forest.right],
    ['split index', forest.splitIndex],
    ['condition', forest.condition],
    ['default-left', forest.defaultLeft],
  ] as const) {
    if (array.length !== entries)
      throw new ModelFormatError(`${name} array has ${array.length} entries, expected ${entries}`);
  }
  const margin = new Float32Array(numGroup);
  for (let k = 0; k < numGroup; k++) {
    margin[k] = baseMargin(header.objective, header.baseScore[header.baseScore.length === 1 ? 0 : k]);
  }

  // One breadth-first pass per tree validates it and fixes its node order; scratch space is shared.
  let largest = 0;
  for (let t = 0; t < numTrees; t++) largest = Math.max(largest, forest.offset[t + 1] - forest.offset[t]);
  const scratch = { seen: new Uint8Array(largest), level: new Int32Array(largest), position: new Int32Array(largest) };
  const order = new Int32Array(entries);
  const treeRoot = new Int32Array(numTrees);
  const treeDepth = new Int32Array(numTrees);
  let total = 0;
  for (let t = 0; t < numTrees; t++) {
    treeRoot[t] = total;
    const reached = orderTree(forest, t, numFeature, scratch, order, total);
    treeDepth[t] = reached.depth;
    total += reached.count;
  }

  const feature = new Int32Array(total);
  const value = new Float32Array(total);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const defaultLeft = new Uint8Array(total);
  const treeGroup = new Int32Array(numTrees);
  const anyCategorical = forest.categories !== undefined && forest.categories.size > 0;
  const categorical = anyCategorical ? new Int32Array(total) : undefined;
  const catOffset: number[] = [];
  const catLength: number[] = [];
  const catWords: number[] = [];

  for (let t = 0; t < numTrees; t++) {
    const group = header.treeGroup[t];
    if (!Number.isInteger(group) || group < 0 || group >= numGroup) {
      throw new ModelFormatError(`tree ${t} belongs to output group ${group}, outside 0..${numGroup - 1}`);
    }
    treeGroup[t] = group;
    const start = treeRoot[t];
    const end = t + 1 < numTrees ? treeRoot[t + 1] : total;
    const base = forest.offset[t];
    const { position } = scratch;
    for (let at = start; at < end; at++) position[order[at]] = at;
    for (let at = start; at < end; at++) {
      const node = order[at];
      const entry = base + node;
      const condition = forest.condition[entry];
      if (forest.left[entry] === -1) {
        if (!Number.isFinite(condition)) throw new ModelFormatError(`tree ${t} node ${node}: leaf value is not finite`);
        feature[at] = -1;
        value[at] = condition;
        continue;
      }
      feature[at] = forest.splitIndex[entry];
      left[at] = position[forest.left[entry]];
      right[at] = position[forest.right[entry]];
      defaultLeft[at] = forest.defaultLeft[entry] ? 1 : 0;
      const cats = anyCategorical ? forest.categories!.get(entry) : undefined;
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
    numTrees,
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
    treeDepth,
  };
}

/**
 * Writes tree `t`'s reachable nodes to `order[at…]` in breadth-first order, each node's children adjacent
 * (the default child first), checking every link; returns how many there are and the tree's depth.
 */
function orderTree(
  forest: RawForest,
  t: number,
  numFeature: number,
  scratch: { seen: Uint8Array; level: Int32Array },
  order: Int32Array,
  at: number,
): { count: number; depth: number } {
  const base = forest.offset[t];
  const n = forest.offset[t + 1] - base;
  if (n < 1) throw new ModelFormatError(`tree ${t} has no nodes`);
  const { parent, deleted, left, right, defaultLeft, splitIndex } = forest;
  const { seen, level } = scratch;
  seen.fill(0, 0, n);
  seen[0] = 1;
  order[at] = 0;
  level[0] = 0;
  let count = 1;
  let deepest = 0;
  for (let head = 0; head < count; head++) {
    const node = order[at + head];
    const entry = base + node;
    if (deleted && deleted[entry]) throw new ModelFormatError(`tree ${t}: deleted node ${node} is reachable`);
    const l = left[entry];
    const r = right[entry];
    if (l === -1) {
      if (r !== -1) throw new ModelFormatError(`tree ${t} node ${node}: leaf with a right child`);
      if (level[head] > deepest) deepest = level[head];
      continue;
    }
    if (!(l > 0 && l < n && r > 0 && r < n && Number.isInteger(l) && Number.isInteger(r))) {
      throw new ModelFormatError(`tree ${t} node ${node}: child index outside 1..${n - 1}`);
    }
    if (seen[l] || seen[r] || l === r) {
      throw new ModelFormatError(`tree ${t}: node ${node} links to a node reached twice (not a tree)`);
    }
    if (parent && (parent[base + l] !== node || parent[base + r] !== node)) {
      throw new ModelFormatError(`tree ${t} node ${node}: a child's parent link does not point back`);
    }
    const feature = splitIndex[entry];
    if (!Number.isInteger(feature) || feature < 0 || feature >= numFeature) {
      throw new ModelFormatError(`tree ${t} node ${node}: split feature ${feature} outside 0..${numFeature - 1}`);
    }
    seen[l] = 1;
    seen[r] = 1;
    const first = defaultLeft[entry] ? l : r;
    order[at + count] = first;
    level[count++] = level[head] + 1;
    order[at + count] = first === l ? r : l;
    level[count++] = level[head] + 1;
  }
  return { count, depth: deepest };
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
