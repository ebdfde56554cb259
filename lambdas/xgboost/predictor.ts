/**
 * Evaluates a {@link TreeEnsemble} exactly as XGBoost's CPU predictor does: features compared as float32
 * with a strict `<`, NaN following the node's default direction, categorical splits sending listed
 * categories right, and leaf values added in float32, tree by tree in model order, onto the base margin
 * (times the tree weight for DART). Raw margins match `predict(output_margin=True)` bit for bit.
 *
 * Numeric ensembles run on the branch-free {@link FlatForest}: a single row walks eight trees at once; a batch
 * goes in blocks of rows, four rows walking each tree side by side.
 * Ensembles with categorical splits take a plain node walk.
 */
import { allocateKeys, fillKeys, type FlatForest, flattenForest } from './flat-forest';
import { keyWidth } from './key-layout';
import { outputWidth, transform } from './objective';
import { walkChild } from './split-decision';
import type { TreeEnsemble, WalkNodes } from './tree-ensemble';

const f = Math.fround;
/** Rows whose keys are prepared together: small enough to stay in L1 with the current tree. */
const BLOCK_ROWS = 64;

/** Scores feature rows with one model. Build once per model; buffers are reused across calls. */
export class Predictor {
  /** Features per row. */
  readonly numFeature: number;
  /** Margins per row (output groups). */
  readonly numGroup: number;
  /** Values per row of {@link predict}: 1 for multi:softmax, else numGroup. */
  readonly outputWidth: number;
  private readonly flat: FlatForest | undefined;
  private readonly rowMargins: Float32Array;
  /** Margins of the last batch, grown on demand and reused. */
  private batchMargins = new Float32Array(0);
  private readonly rowKeys: Float64Array;
  private readonly blockKeys: Float64Array;
  /** Deepest tree in each run of eight consecutive trees (single-row path). */
  private readonly octetDepth: Int32Array;
  /** True when one group and no tree weights: leaves add straight into one accumulator. */
  private readonly plainSum: boolean;

  constructor(readonly model: TreeEnsemble) {
    this.numFeature = model.numFeature;
    this.numGroup = model.numGroup;
    this.outputWidth = outputWidth(model.objective, model.numGroup);
    this.flat = flattenForest(model);
    this.rowMargins = new Float32Array(model.numGroup);
    this.rowKeys = allocateKeys(1, model.numFeature);
    this.blockKeys = allocateKeys(BLOCK_ROWS, model.numFeature);
    this.plainSum = model.numGroup === 1 && model.treeWeight === undefined;
    this.octetDepth = new Int32Array(Math.ceil(model.numTrees / 8));
    if (this.flat) {
      for (let t = 0; t < model.numTrees; t++) {
        this.octetDepth[t >> 3] = Math.max(this.octetDepth[t >> 3], this.flat.depth[t]);
      }
    }
  }

  /**
   * Raw margins of `rows` rows stored row-major in `x` (float32, NaN = missing), written to
   * `out[row * numGroup + group]`.
   */
  predictMargin(x: Float32Array, rows: number, out: Float32Array): Float32Array {
    const { numGroup } = this;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < numGroup; k++) out[r * numGroup + k] = this.model.baseMargin[k];
    }
    if (this.flat) {
      for (let start = 0; start < rows; start += BLOCK_ROWS) {
        this.flatBlock(this.flat, x, start, Math.min(BLOCK_ROWS, rows - start), out);
      }
    } else {
      this.walkAll(x, rows, out);
    }
    return out;
  }

  /** Margins of one row of `numFeature` values into a shared buffer (valid until the next call). */
  predictMarginRow(x: Float32Array): Float32Array {
    const margins = this.rowMargins;
    margins.set(this.model.baseMargin);
    if (!this.flat) return this.walkAll(x, 1, margins);
    fillKeys(x, 0, this.numFeature, this.rowKeys, 0);
    this.flatRow(this.flat, this.rowKeys, margins);
    return margins;
  }

  /** Transformed predictions (probabilities, class, counts…), `outputWidth` values per row. */
  predict(x: Float32Array, rows: number, out: Float64Array): Float64Array {
    if (rows === 1) {
      transform(this.model.objective, this.predictMarginRow(x), 0, this.numGroup, out, 0);
      return out;
    }
    if (this.batchMargins.length < rows * this.numGroup) this.batchMargins = new Float32Array(rows * this.numGroup);
    const margins = this.predictMargin(x, rows, this.batchMargins);
    for (let r = 0; r < rows; r++) {
      transform(this.model.objective, margins, r * this.numGroup, this.numGroup, out, r * this.outputWidth);
    }
    return out;
  }

  /** One row: trees eight at a time, each walk a fixed number of branch-free steps. */
  private flatRow(flat: FlatForest, keys: Float64Array, margins: Float32Array): void {
    const { slot, bound, first, root } = flat;
    const leaf = bound; // a leaf keeps its value in its bound
    const numTrees = this.model.numTrees;
    const octets = numTrees >> 3;
    let acc = margins[0];
    for (let q = 0; q < octets; q++) {
      const t = q << 3;
      let a = root[t];
      let b = root[t + 1];
      let c = root[t + 2];
      let d = root[t + 3];
      let e = root[t + 4];
      let g = root[t + 5];
      let h = root[t + 6];
      let k = root[t + 7];
      for (let s = this.octetDepth[q]; s > 0; s--) {
        a = first[a] + +(keys[slot[a]] > bound[a]);
        b = first[b] + +(keys[slot[b]] > bound[b]);
        c = first[c] + +(keys[slot[c]] > bound[c]);
        d = first[d] + +(keys[slot[d]] > bound[d]);
        e = first[e] + +(keys[slot[e]] > bound[e]);
        g = first[g] + +(keys[slot[g]] > bound[g]);
        h = first[h] + +(keys[slot[h]] > bound[h]);
        k = first[k] + +(keys[slot[k]] > bound[k]);
      }
      if (this.plainSum) {
        acc = f(
          f(f(f(f(f(f(f(acc + leaf[a]) + leaf[b]) + leaf[c]) + leaf[d]) + leaf[e]) + leaf[g]) + leaf[h]) + leaf[k],
        );
      } else {
        this.accumulate(margins, 0, t, leaf[a]);
        this.accumulate(margins, 0, t + 1, leaf[b]);
        this.accumulate(margins, 0, t + 2, leaf[c]);
        this.accumulate(margins, 0, t + 3, leaf[d]);
        this.accumulate(margins, 0, t + 4, leaf[e]);
        this.accumulate(margins, 0, t + 5, leaf[g]);
        this.accumulate(margins, 0, t + 6, leaf[h]);
        this.accumulate(margins, 0, t + 7, leaf[k]);
      }
    }
    if (this.plainSum) margins[0] = acc;
    for (let t = octets << 3; t < numTrees; t++) {
      let n = root[t];
      for (let s = flat.depth[t]; s > 0; s--) n = first[n] + +(keys[slot[n]] > bound[n]);
      this.accumulate(margins, 0, t, leaf[n]);
    }
  }

  /** A block of rows: keys once per row, then per tree four rows walked side by side. */
  private flatBlock(flat: FlatForest, x: Float32Array, start: number, count: number, out: Float32Array): void {
    const { numFeature, numGroup } = this;
    const width = keyWidth(numFeature);
    const keys = this.blockKeys;
    for (let i = 0; i < count; i++) fillKeys(x, (start + i) * numFeature, numFeature, keys, i * width);
    const { slot, bound, first, root, depth } = flat;
    const leaf = bound;
    const numTrees = this.model.numTrees;
    for (let t = 0; t < numTrees; t++) {
      const r0 = root[t];
      const steps = depth[t];
      let i = 0;
      for (; i + 4 <= count; i += 4) {
        const k0 = i * width;
        const k1 = k0 + width;
        const k2 = k1 + width;
        const k3 = k2 + width;
        let a = r0;
        let b = r0;
        let c = r0;
        let d = r0;
        for (let s = steps; s > 0; s--) {
          a = first[a] + +(keys[k0 + slot[a]] > bound[a]);
          b = first[b] + +(keys[k1 + slot[b]] > bound[b]);
          c = first[c] + +(keys[k2 + slot[c]] > bound[c]);
          d = first[d] + +(keys[k3 + slot[d]] > bound[d]);
        }
        const o = (start + i) * numGroup;
        this.accumulate(out, o, t, leaf[a]);
        this.accumulate(out, o + numGroup, t, leaf[b]);
        this.accumulate(out, o + 2 * numGroup, t, leaf[c]);
        this.accumulate(out, o + 3 * numGroup, t, leaf[d]);
      }
      for (; i < count; i++) {
        const k = i * width;
        let n = r0;
        for (let s = steps; s > 0; s--) n = first[n] + +(keys[k + slot[n]] > bound[n]);
        this.accumulate(out, (start + i) * numGroup, t, leaf[n]);
      }
    }
  }

  /** Adds tree `t`'s leaf value to its group's margin at `out[rowOffset + group]`, in float32. */
  private accumulate(out: Float32Array, rowOffset: number, t: number, value: number): void {
    const at = rowOffset + this.model.treeGroup[t];
    const weight = this.model.treeWeight;
    out[at] = weight === undefined ? f(out[at] + value) : f(out[at] + f(value * weight[t]));
  }

  /** Plain node walk (ensembles with categorical splits, which have no flat layout). */
  private walkAll(x: Float32Array, rows: number, out: Float32Array): Float32Array {
    const { nodes } = this.model;
    if (nodes.kind !== 'walk') throw new Error('a model with a flat layout takes the branch-free walk');
    for (let t = 0; t < this.model.numTrees; t++) {
      const root = this.model.treeRoot[t];
      for (let r = 0; r < rows; r++) {
        this.accumulate(out, r * this.numGroup, t, this.walk(nodes, x, r * this.numFeature, root));
      }
    }
    return out;
  }

  private walk(nodes: WalkNodes, x: Float32Array, offset: number, root: number): number {
    const { feature } = nodes;
    const { first } = this.model;
    let n = root;
    while (feature[n] >= 0) n = walkChild(nodes, first, n, x[offset + feature[n]]);
    return nodes.value[n];
  }
}
