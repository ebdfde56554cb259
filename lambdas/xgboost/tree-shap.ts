/**
 * Exact TreeSHAP feature contributions of one row, as XGBoost 1.7's `predict(pred_contribs=True)` computes them
 * (Lundberg et al., "Consistent Individualized Feature Attribution for Tree Ensembles", Algorithm 2; XGBoost's
 * `RegTree::CalculateContributions`): per output group one value per feature, then the bias (the base margin
 * plus every tree's cover-weighted mean leaf value). The contributions of a group sum to its margin. A row goes
 * down each split as the evaluator sends it (missing values to the default child, categories as XGBoost
 * decides); the other child is weighted by its share of the node's cover. Computed in double precision.
 */
import { leafKey } from './key-layout';
import { ModelFormatError } from './model-error';
import type { TreeEnsemble } from './tree-ensemble';

/**
 * Unique paths (the features split on from the root to a node), one segment per recursion depth, as four
 * parallel arrays: element i's feature, zero and one fractions and permutation weight.
 */
interface PathStore {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
}

/** Explains rows of one ensemble; the trees' mean values are computed once. */
export class TreeShap {
  private readonly means: Float64Array;
  private readonly cover: Float32Array;
  private readonly path: PathStore;

  constructor(private readonly model: TreeEnsemble) {
    if (!model.cover) {
      throw new ModelFormatError(
        'the model file holds no node covers (sum_hessian): its predictions cannot be explained',
      );
    }
    this.cover = model.cover;
    this.means = new Float64Array(model.first.length);
    let deepest = 0;
    for (let t = 0; t < model.numTrees; t++) {
      this.fillMeans(model.treeRoot[t]);
      deepest = Math.max(deepest, model.treeDepth[t]);
    }
    // Segments of 1, 2, … elements, one per depth from the root's (at 1): room for a path one longer than the tree.
    const size = ((deepest + 3) * (deepest + 4)) / 2 + 1;
    if (RECIPROCAL.length < deepest + 4) RECIPROCAL = reciprocals(deepest + 4);
    this.path = {
      feature: new Int32Array(size),
      zero: new Float64Array(size),
      one: new Float64Array(size),
      weight: new Float64Array(size),
    };
  }

  /**
   * Contributions of `row` (numFeature values, NaN = missing): `numGroup` blocks of numFeature + 1 values, each
   * the features' contributions then the bias (XGBoost's layout, groups concatenated).
   */
  contributions(row: ArrayLike<number>): Float64Array {
    const { numFeature, numGroup, numTrees, treeGroup, treeRoot, treeWeight, baseMargin } = this.model;
    if (row.length !== numFeature) throw new Error(`a row has ${row.length} values, the model ${numFeature} features`);
    const width = numFeature + 1;
    const out = new Float64Array(numGroup * width);
    const tree = new Float64Array(width);
    const keys = this.model.nodes.kind === 'flat' ? keysOf(row, numFeature) : undefined;
    for (let t = 0; t < numTrees; t++) {
      tree.fill(0);
      const root = treeRoot[t];
      tree[numFeature] = this.means[root];
      this.recurse(row, keys, tree, root, 0, 0, 1, 1, -1);
      const weight = treeWeight ? treeWeight[t] : 1;
      const at = treeGroup[t] * width;
      for (let i = 0; i < width; i++) out[at + i] += tree[i] * weight;
    }
    for (let g = 0; g < numGroup; g++) out[g * width + numFeature] += baseMargin[g];
    return out;
  }

  /** Mean leaf value below `node`, weighted by cover (XGBoost's FillNodeMeanValues). */
  private fillMeans(node: number): number {
    const { first } = this.model;
    if (first[node] === node) return (this.means[node] = this.leafValue(node));
    const a = first[node];
    const b = a + 1;
    const mean = (this.fillMeans(a) * this.cover[a] + this.fillMeans(b) * this.cover[b]) / this.cover[node];
    return (this.means[node] = mean);
  }

  private leafValue(node: number): number {
    const { nodes } = this.model;
    return nodes.kind === 'flat' ? nodes.bound[node] : nodes.value[node];
  }

  /** The feature `node` splits on. */
  private featureOf(node: number): number {
    const { nodes, numFeature } = this.model;
    if (nodes.kind === 'walk') return nodes.feature[node];
    const slot = nodes.slot[node];
    return slot < numFeature ? slot : slot - numFeature;
  }

  /** The child the row goes to, as the evaluator sends it. */
  private hotChild(row: ArrayLike<number>, keys: Float64Array | undefined, node: number): number {
    const { nodes, first } = this.model;
    if (nodes.kind === 'flat') return first[node] + (keys![nodes.slot[node]] > nodes.bound[node] ? 1 : 0);
    const v = Math.fround(row[nodes.feature[node]]); // as the evaluator reads it: a float32
    if (v !== v) return first[node];
    const left =
      nodes.categorical[node] !== 0 ? categoryGoesLeft(nodes, nodes.categorical[node] - 1, v) : v < nodes.value[node];
    return first[node] + (left === (nodes.defaultLeft[node] === 1) ? 0 : 1);
  }

  /**
   * XGBoost's TreeShap: the parent's unique path starts at `parentAt` in the path storage and holds `depth`
   * elements; this node's holds them and its incoming edge (feature, zero and one fractions).
   */
  private recurse(
    row: ArrayLike<number>,
    keys: Float64Array | undefined,
    phi: Float64Array,
    node: number,
    parentAt: number,
    depth: number,
    zero: number,
    one: number,
    feature: number,
  ): void {
    const path = this.path;
    // This node's segment follows the parent's: the parent's `depth` elements copied, then extended by one.
    const at = parentAt + depth + 1;
    const { feature: features, zero: zeros, one: ones, weight: weights } = path;
    for (let i = 0; i < depth; i++) {
      features[at + i] = features[parentAt + i];
      zeros[at + i] = zeros[parentAt + i];
      ones[at + i] = ones[parentAt + i];
      weights[at + i] = weights[parentAt + i];
    }
    extend(path, at, depth, zero, one, feature);
    const { first } = this.model;
    if (first[node] === node) {
      const value = this.leafValue(node);
      // An element whose one fraction is 0 (a cold edge on the way) unwinds to the same sum over the path's
      // weights divided by its zero fraction: that sum is taken once per leaf.
      let coldSum = Number.NaN;
      for (let i = 1; i <= depth; i++) {
        const one = path.one[at + i];
        const zero = path.zero[at + i];
        let w: number;
        if (one !== 0 || zero === 0) {
          w = unwoundSum(path, at, depth, i);
        } else {
          if (coldSum !== coldSum) coldSum = coldWeightSum(path, at, depth);
          w = coldSum / zero;
        }
        phi[path.feature[at + i]] += w * (one - zero) * value;
      }
      return;
    }
    const split = this.featureOf(node);
    const hot = this.hotChild(row, keys, node);
    const cold = hot === first[node] ? first[node] + 1 : first[node];
    const w = this.cover[node];
    const hotZero = this.cover[hot] / w;
    const coldZero = this.cover[cold] / w;
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    let index = 0;
    while (index <= d && path.feature[at + index] !== split) index++;
    if (index !== d + 1) {
      incomingZero = path.zero[at + index];
      incomingOne = path.one[at + index];
      unwind(path, at, d, index);
      d -= 1;
    }
    this.recurse(row, keys, phi, hot, at, d + 1, hotZero * incomingZero, incomingOne, split);
    this.recurse(row, keys, phi, cold, at, d + 1, coldZero * incomingZero, 0, split);
  }
}

/** Reciprocals 1/k, k = 0, 1, …: the hot loops multiply instead of dividing. Grown for the deepest tree explained. */
let RECIPROCAL = reciprocals(64);

function reciprocals(length: number): Float64Array {
  return Float64Array.from({ length }, (_, k) => (k === 0 ? 0 : 1 / k));
}

/** EXTEND: appends (zero, one, feature) at position `depth` of the path at `at`, updating the permutation weights. */
function extend(path: PathStore, at: number, depth: number, zero: number, one: number, feature: number): void {
  const { weight } = path;
  path.feature[at + depth] = feature;
  path.zero[at + depth] = zero;
  path.one[at + depth] = one;
  weight[at + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    weight[at + i + 1] += (one * weight[at + i] * (i + 1)) / (depth + 1);
    weight[at + i] = (zero * weight[at + i] * (depth - i)) / (depth + 1);
  }
}

/** UNWIND: removes element `index` from the path of `depth` + 1 elements at `at`. */
function unwind(path: PathStore, at: number, depth: number, index: number): void {
  const { weight } = path;
  const one = path.one[at + index];
  const zero = path.zero[at + index];
  let next = weight[at + depth];
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = weight[at + i];
      weight[at + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (weight[at + i] * zero * (depth - i)) / (depth + 1);
    } else {
      weight[at + i] = (weight[at + i] * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    path.feature[at + i] = path.feature[at + i + 1];
    path.zero[at + i] = path.zero[at + i + 1];
    path.one[at + i] = path.one[at + i + 1];
  }
}

/**
 * The total permutation weight of the path at `at` were element `index` unwound (without changing it): XGBoost's
 * UnwoundPathSum, with its divisions by small integers taken as multiplications by their reciprocals.
 */
function unwoundSum(path: PathStore, at: number, depth: number, index: number): number {
  const { weight } = path;
  const one = path.one[at + index];
  const zero = path.zero[at + index];
  const scale = depth + 1;
  const inverse = RECIPROCAL[scale];
  let next = weight[at + depth];
  let total = 0;
  if (one !== 0) {
    const factor = scale / one;
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = next * factor * RECIPROCAL[i + 1];
      total += tmp;
      next = weight[at + i] - tmp * zero * ((depth - i) * inverse);
    }
  } else if (zero !== 0) {
    const factor = scale / zero;
    for (let i = depth - 1; i >= 0; i--) total += weight[at + i] * factor * RECIPROCAL[depth - i];
  }
  return total;
}

/** Σ weight[i] × (depth + 1) / (depth − i): what {@link unwoundSum} sums for an element of one fraction 0, times its zero fraction. */
function coldWeightSum(path: PathStore, at: number, depth: number): number {
  const { weight } = path;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) total += weight[at + i] * RECIPROCAL[depth - i];
  return total * (depth + 1);
}

/** A row's key vector for the flat layout (see flat-forest.ts): x and -x per feature, NaN as -Infinity. */
function keysOf(row: ArrayLike<number>, numFeature: number): Float64Array {
  const keys = new Float64Array(leafKey(numFeature) + 1);
  for (let f = 0; f < numFeature; f++) {
    const v = Math.fround(row[f]);
    keys[f] = v === v ? v : -Infinity;
    keys[numFeature + f] = v === v ? -v : -Infinity;
  }
  keys[leafKey(numFeature)] = -Infinity;
  return keys;
}

/** XGBoost 1.7's categorical decision (as the evaluator's): categories in the node's set go right. */
function categoryGoesLeft(nodes: Extract<TreeEnsemble['nodes'], { kind: 'walk' }>, split: number, v: number): boolean {
  const words = nodes.catLength[split];
  if (v < 0 || v >= words * 32) return true;
  const c = Math.trunc(v);
  const bits = nodes.catBits[nodes.catOffset[split] + (c >>> 5)];
  return ((bits >>> (c & 31)) & 1) === 0;
}
