/**
 * Exact TreeSHAP feature contributions of one row, the values XGBoost 1.7's `predict(pred_contribs=True)`
 * computes (Lundberg et al., "Consistent Individualized Feature Attribution for Tree Ensembles"; XGBoost's
 * `RegTree::CalculateContributions`): per output group one value per feature, then the bias (the base margin
 * plus every tree's cover-weighted mean leaf value). The contributions of a group sum to its margin. A row goes
 * down each split as the evaluator sends it (missing values to the default child, categories as XGBoost
 * decides); the other child is weighted by its share of the node's cover.
 *
 * How (the polynomial form of TreeSHAP, as in Yu et al., "Linear TreeShap", 2022): give each distinct feature
 * j split on above a leaf the factor q_j(t) = o_j·t + z_j·(1 − t), where z_j is the product of the cover shares
 * of the leaf's side at the splits on j and o_j is 1 when the row goes the leaf's way at all of them, else 0.
 * The leaf, of value v, adds to feature i
 *
 *   v · (o_i − z_i) · ∫₀¹ Π_{j≠i} q_j(t) dt,
 *
 * the Shapley weights k!(d−k−1)!/d! being Beta integrals; this is what XGBoost's EXTEND/UNWIND recursion sums.
 * The integrand is a polynomial of degree below the most distinct features on a path of the tree, so a
 * Gauss–Legendre rule of half as many points (rounded up) integrates it exactly. Below a split on feature i every leaf shares the factors above it, so one walk over
 * each tree carries the products down and the sums Σ v·Π q back up: a few multiplications per node and
 * quadrature point, not a pass over every leaf's path. A feature split on again further down takes the
 * combined factor there, and what the leaves below that split added at the upper split is taken back.
 * Computed in double precision.
 */
import { allocateKeys, fillKeys } from './flat-forest';
import { ModelFormatError } from './model-error';
import { walkChild } from './split-decision';
import type { TreeEnsemble } from './tree-ensemble';

/** Explains rows of one ensemble. Build once per model; one call at a time (buffers are reused). */
export class TreeShap {
  /** Per node: the cover-weighted mean leaf value below it (XGBoost's FillNodeMeanValues). */
  private readonly means: Float64Array;
  /** Per split node: the feature it splits on. Per leaf: its value times its tree's weight. */
  private readonly splitFeature: Int32Array;
  private readonly leafScaled: Float64Array;
  /**
   * Per child node c (the edge into it): z, the product of the cover shares on the way to c over every split
   * on its parent's feature from the root; and the edge above it where that feature was last split on (the
   * child on the path), or -1.
   */
  private readonly zeroFraction: Float64Array;
  private readonly previousEdge: Int32Array;
  /**
   * Per child node: where 1/q(t_k) of its edge's factor starts in `inverse`, for o = 0 then o = 1 (its tree's
   * points each; 0 where q is 0).
   */
  private readonly inverseAt: Int32Array;
  private readonly inverse: Float64Array;
  /** Per tree: how many quadrature points its paths need. Rules by number of points. */
  private readonly treePoints: Int32Array;
  private readonly rules: readonly QuadratureRule[];
  /** The row's key vector (flat layout); per node the child the row goes to; per edge o (see above). */
  private readonly keys: Float64Array | undefined;
  private readonly hot: Int32Array;
  private readonly oneFraction: Float64Array;
  /** Per depth, per quadrature point: the product of the factors above a node, and the sum below it. */
  private readonly product: Float64Array;
  private readonly sum: Float64Array;
  private points = 0;
  private rule: QuadratureRule;
  private phi = new Float64Array(0);
  private phiAt = 0;

  constructor(private readonly model: TreeEnsemble) {
    if (!model.cover) {
      throw new ModelFormatError(
        'the model file holds no node covers (sum_hessian): its predictions cannot be explained',
      );
    }
    const cover = model.cover;
    const { first, numTrees, treeRoot, treeWeight } = model;
    const nodeCount = first.length;
    this.means = new Float64Array(nodeCount);
    this.splitFeature = new Int32Array(nodeCount).fill(-1);
    this.leafScaled = new Float64Array(nodeCount);
    this.zeroFraction = new Float64Array(nodeCount);
    this.previousEdge = new Int32Array(nodeCount).fill(-1);
    this.treePoints = new Int32Array(numTrees);
    // The edge into the current node where each feature was last split on, along the path being walked.
    const lastEdge = new Int32Array(model.numFeature).fill(-1);
    let deepest = 0;
    let distinct = 0;
    let mostDistinct = 0;
    const walk = (node: number, depth: number, weight: number): void => {
      deepest = Math.max(deepest, depth);
      mostDistinct = Math.max(mostDistinct, distinct);
      if (first[node] === node) {
        this.leafScaled[node] = this.leafValue(node) * weight;
        this.means[node] = this.leafValue(node);
        return;
      }
      if (!(cover[node] > 0)) {
        throw new ModelFormatError(
          `node ${node} (a split) has cover ${cover[node]}: its children's shares, and so contributions, are undefined`,
        );
      }
      const feature = this.featureOf(node);
      this.splitFeature[node] = feature;
      const previous = lastEdge[feature];
      if (previous < 0) distinct++;
      for (const child of [first[node], first[node] + 1]) {
        const above = previous < 0 ? 1 : this.zeroFraction[previous];
        this.zeroFraction[child] = above * (cover[child] / cover[node]);
        this.previousEdge[child] = previous;
        lastEdge[feature] = child;
        walk(child, depth + 1, weight);
      }
      // The cover-weighted mean leaf value below (XGBoost's FillNodeMeanValues), from the children's.
      const a = first[node];
      this.means[node] = (this.means[a] * cover[a] + this.means[a + 1] * cover[a + 1]) / cover[node];
      lastEdge[feature] = previous;
      if (previous < 0) distinct--;
    };
    for (let t = 0; t < numTrees; t++) {
      mostDistinct = 0;
      walk(treeRoot[t], 0, treeWeight ? treeWeight[t] : 1);
      // Π_{j≠i} q_j has degree below the path's distinct features: n points integrate degree 2n − 1 exactly.
      this.treePoints[t] = Math.max(1, Math.ceil(mostDistinct / 2));
    }
    const most = this.treePoints.reduce((a, b) => Math.max(a, b), 1);
    this.rules = Array.from({ length: most + 1 }, (_, n) => gaussLegendre(n));
    this.rule = this.rules[1];
    this.inverseAt = new Int32Array(nodeCount);
    const inverses: number[] = [];
    for (let t = 0; t < numTrees; t++) {
      const { t: ts } = this.rules[this.treePoints[t]];
      const fill = (node: number): void => {
        if (first[node] === node) return;
        for (const child of [first[node], first[node] + 1]) {
          this.inverseAt[child] = inverses.length;
          const zero = this.zeroFraction[child];
          for (const one of [0, 1]) {
            for (const t of ts) {
              const q = one * t + zero * (1 - t);
              inverses.push(q === 0 ? 0 : 1 / q);
            }
          }
          fill(child);
        }
      };
      fill(treeRoot[t]);
    }
    this.inverse = Float64Array.from(inverses);
    this.product = new Float64Array((deepest + 1) * most);
    this.sum = new Float64Array((deepest + 1) * most);
    this.hot = new Int32Array(nodeCount);
    this.oneFraction = new Float64Array(nodeCount);
    this.keys = model.nodes.kind === 'flat' ? allocateKeys(1, model.numFeature) : undefined;
  }

  /**
   * Contributions of `row` (numFeature values, NaN = missing; plain numbers are read as the float32s the
   * evaluator reads): `numGroup` blocks of numFeature + 1 values, each the features' contributions then the
   * bias (XGBoost's layout, groups concatenated).
   */
  contributions(row: ArrayLike<number>): Float64Array {
    const { numFeature, numGroup, numTrees, treeGroup, treeRoot, treeWeight, baseMargin } = this.model;
    if (row.length !== numFeature) throw new Error(`a row has ${row.length} values, the model ${numFeature} features`);
    this.sendRow(row instanceof Float32Array ? row : Float32Array.from(row));
    const width = numFeature + 1;
    const phi = new Float64Array(numGroup * width);
    this.phi = phi;
    for (let t = 0; t < numTrees; t++) {
      const root = treeRoot[t];
      this.phiAt = treeGroup[t] * width;
      phi[this.phiAt + numFeature] += this.means[root] * (treeWeight ? treeWeight[t] : 1);
      this.points = this.treePoints[t];
      this.rule = this.rules[this.points];
      this.product.fill(1, 0, this.points);
      this.visit(root, 0);
    }
    for (let g = 0; g < numGroup; g++) phi[g * width + numFeature] += baseMargin[g];
    return phi;
  }

  /** Sends the row down every split: `hot[node]` becomes the child it goes to (a leaf's is itself). */
  private sendRow(x: Float32Array): void {
    const { nodes, first } = this.model;
    const { hot } = this;
    if (nodes.kind === 'flat') {
      const keys = this.keys!;
      fillKeys(x, 0, this.model.numFeature, keys, 0);
      const { slot, bound } = nodes;
      for (let n = 0; n < hot.length; n++) hot[n] = first[n] + (keys[slot[n]] > bound[n] ? 1 : 0);
    } else {
      const { feature } = nodes;
      for (let n = 0; n < hot.length; n++) hot[n] = feature[n] < 0 ? n : walkChild(nodes, first, n, x[feature[n]]);
    }
  }

  /**
   * With the product of the factors above `node` at product[depth], writes Σ v·Π q over the leaves below it
   * to sum[depth] and adds each of its edges' contributions to its split feature.
   */
  private visit(node: number, depth: number): void {
    const { product, sum, points, hot, oneFraction, zeroFraction, inverse, inverseAt } = this;
    const { t: ts, w: ws } = this.rule;
    const here = depth * points;
    const below = here + points;
    const a = this.model.first[node];
    if (a === node) {
      const v = this.leafScaled[node];
      for (let k = 0; k < points; k++) sum[here + k] = v * product[here + k];
      return;
    }
    const previous = this.previousEdge[a];
    const oneAbove = previous < 0 ? 1 : oneFraction[previous];
    const zeroAbove = previous < 0 ? 1 : zeroFraction[previous];
    // 1/q of the factor from above, which the combined one replaces (0 where that factor is 0: so is the product).
    const above = previous < 0 ? -1 : inverseAt[previous] + oneAbove * points;
    let contribution = 0;
    for (let child = a; child <= a + 1; child++) {
      // o is 1 on the row's side (and on every split on the feature above), else 0; branch-free.
      const one = oneAbove * (1 - ((hot[node] - child) & 1));
      const zero = zeroFraction[child];
      oneFraction[child] = one;
      for (let k = 0; k < points; k++) {
        const t = ts[k];
        const q = one * t + zero * (1 - t);
        product[below + k] = (above < 0 ? product[here + k] : product[here + k] * inverse[above + k]) * q;
      }
      this.visit(child, depth + 1);
      // (o − z) ∫ Σ v·Π q / q: an edge whose factor is 0 has o = z = 0 and 1/q stored as 0.
      const own = inverseAt[child] + one * points;
      let integral = 0;
      for (let k = 0; k < points; k++) {
        integral += ws[k] * sum[below + k] * inverse[own + k];
        sum[here + k] = (child === a ? 0 : sum[here + k]) + sum[below + k];
      }
      contribution += (one - zero) * integral;
    }
    if (above >= 0) {
      // The leaves below also counted at the split on this feature above, with its factor: taken back there.
      let integral = 0;
      for (let k = 0; k < points; k++) integral += ws[k] * sum[here + k] * inverse[above + k];
      contribution -= (oneAbove - zeroAbove) * integral;
    }
    this.phi[this.phiAt + this.splitFeature[node]] += contribution;
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
}

/** Points and weights of a Gauss–Legendre rule on [0, 1]. */
interface QuadratureRule {
  readonly t: Float64Array;
  readonly w: Float64Array;
}

/** The n-point Gauss–Legendre rule on [0, 1] (Newton's method on the Legendre polynomial's roots). */
function gaussLegendre(n: number): QuadratureRule {
  const t = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let slope = 1;
    for (let iteration = 0; iteration < 100; iteration++) {
      let previous = 1;
      let p = x;
      for (let k = 2; k <= n; k++) {
        const next = ((2 * k - 1) * x * p - (k - 1) * previous) / k;
        previous = p;
        p = next;
      }
      slope = (n * (x * p - previous)) / (x * x - 1);
      const step = p / slope;
      x -= step;
      if (Math.abs(step) <= 1e-16) break;
    }
    t[i] = (1 - x) / 2;
    w[i] = 1 / ((1 - x * x) * slope * slope);
  }
  return { t, w };
}
