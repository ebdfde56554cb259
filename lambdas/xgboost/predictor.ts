/**
 * Evaluates a {@link TreeEnsemble} exactly as XGBoost's CPU predictor does: features compared as float32
 * with a strict `<`, NaN following the node's default direction, categorical splits sending listed
 * categories right, and leaf values added in float32, tree by tree in model order, onto the base margin
 * (times the tree weight for DART). Raw margins match `predict(output_margin=True)` bit for bit.
 */
import { outputWidth, transform } from './objective';
import type { TreeEnsemble } from './tree-ensemble';

const f = Math.fround;

/** Scores feature rows with one model. Build once per model; methods allocate nothing per row. */
export class Predictor {
  /** Features per row. */
  readonly numFeature: number;
  /** Margins per row (output groups). */
  readonly numGroup: number;
  /** Values per row of {@link predict}: 1 for multi:softmax, else numGroup. */
  readonly outputWidth: number;
  private readonly margins: Float32Array;

  constructor(readonly model: TreeEnsemble) {
    this.numFeature = model.numFeature;
    this.numGroup = model.numGroup;
    this.outputWidth = outputWidth(model.objective, model.numGroup);
    this.margins = new Float32Array(model.numGroup);
  }

  /**
   * Raw margins of `rows` rows stored row-major in `x` (float32, NaN = missing), written to
   * `out[row * numGroup + group]`.
   */
  predictMargin(x: Float32Array, rows: number, out: Float32Array): Float32Array {
    const { numFeature, numGroup } = this;
    const m = this.model;
    for (let r = 0; r < rows; r++) {
      const o = r * numGroup;
      for (let k = 0; k < numGroup; k++) out[o + k] = m.baseMargin[k];
    }
    const { treeRoot, treeGroup, treeWeight } = m;
    for (let t = 0; t < m.numTrees; t++) {
      const root = treeRoot[t];
      const o = treeGroup[t];
      const w = treeWeight ? treeWeight[t] : 1;
      for (let r = 0; r < rows; r++) {
        const leaf = this.leafValue(x, r * numFeature, root);
        const at = r * numGroup + o;
        out[at] = treeWeight ? f(out[at] + f(leaf * w)) : f(out[at] + leaf);
      }
    }
    return out;
  }

  /** Transformed predictions (probabilities, class, counts…), `outputWidth` values per row. */
  predict(x: Float32Array, rows: number, out: Float64Array): Float64Array {
    const margins = new Float32Array(rows * this.numGroup);
    this.predictMargin(x, rows, margins);
    for (let r = 0; r < rows; r++) {
      transform(this.model.objective, margins, r * this.numGroup, this.numGroup, out, r * this.outputWidth);
    }
    return out;
  }

  /** Margins of one row into a shared buffer (valid until the next call). */
  predictMarginRow(x: Float32Array): Float32Array {
    return this.predictMargin(x, 1, this.margins);
  }

  private leafValue(x: Float32Array, offset: number, root: number): number {
    const { feature, value, left, right, defaultLeft, categorical } = this.model;
    let n = root;
    let split = feature[n];
    while (split >= 0) {
      const v = x[offset + split];
      if (v !== v) {
        n = defaultLeft[n] ? left[n] : right[n];
      } else if (categorical !== undefined && categorical[n] !== 0) {
        n = this.categoryGoesLeft(categorical[n] - 1, v) ? left[n] : right[n];
      } else {
        n = v < value[n] ? left[n] : right[n];
      }
      split = feature[n];
    }
    return value[n];
  }

  /**
   * XGBoost 1.7's categorical Decision: categories in the node's set go right; everything else, including
   * negative, too large and never-seen categories, goes left. Fractional values are truncated.
   */
  private categoryGoesLeft(split: number, v: number): boolean {
    const words = this.model.catLength![split];
    if (v < 0 || v >= words * 32) return true;
    const c = Math.trunc(v);
    const bits = this.model.catBits![this.model.catOffset![split] + (c >>> 5)];
    return ((bits >>> (c & 31)) & 1) === 0;
  }
}
