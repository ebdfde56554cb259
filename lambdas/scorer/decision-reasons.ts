/**
 * The reasons behind one decision: the record's exact TreeSHAP contributions (XGBoost's pred_contribs), summed
 * per feature (a one-hot feature's columns are that feature), the features that pushed the score the adverse
 * way ranked by how far, and the strongest `k` given with their codes and texts from the model's reason-code
 * table (its feature spec's `explanations`).
 */
import { columnFeatures, type FeatureSpec } from '../features/feature-spec';
import type { Explanations } from '../../contracts/reason-codes';
import { TreeShap } from '../xgboost/tree-shap';
import type { TreeEnsemble } from '../xgboost/tree-ensemble';

/** One reason of a decision. */
export interface DecisionReason {
  readonly feature: string;
  readonly code: string;
  readonly text: string;
  /**
   * The feature's signed contribution to the model's margin (log-odds for a logistic model): positive when a
   * higher score is adverse, negative when a lower one is.
   */
  readonly contribution: number;
}

/** Why a model cannot explain its decisions (no reason-code table, no node covers, no class named). */
export class ExplanationsUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExplanationsUnavailable';
  }
}

/** Explains one model's decisions. Build once per model. */
export class DecisionReasons {
  private readonly shap: TreeShap;
  private readonly explanations: Explanations;
  /** Per model column, the feature it belongs to. */
  private readonly owner: number[];
  private readonly group: number;
  private readonly totals: Float64Array;

  /** @throws ExplanationsUnavailable naming what is missing. */
  constructor(
    model: TreeEnsemble,
    private readonly spec: FeatureSpec,
  ) {
    if (!spec.explanations) {
      throw new ExplanationsUnavailable("the model's feature spec holds no reason-code table (explanations)");
    }
    this.explanations = spec.explanations;
    const chosen = spec.explanations.class;
    if (model.numGroup > 1 && chosen === undefined) {
      throw new ExplanationsUnavailable(
        `the model has ${model.numGroup} classes: its explanations must name the class they explain`,
      );
    }
    if (chosen !== undefined && chosen >= model.numGroup) {
      throw new ExplanationsUnavailable(`explanations.class is ${chosen}, the model has ${model.numGroup} output(s)`);
    }
    this.group = chosen ?? 0;
    try {
      this.shap = new TreeShap(model);
    } catch (error) {
      throw new ExplanationsUnavailable((error as Error).message);
    }
    this.owner = columnFeatures(spec);
    this.totals = new Float64Array(spec.features.length);
  }

  /** The `k` strongest adverse reasons of the row's decision (fewer when fewer features pushed that way). */
  reasons(row: Float32Array, k: number): DecisionReason[] {
    const contributions = this.shap.contributions(row);
    const width = this.owner.length + 1;
    const { totals, owner } = this;
    totals.fill(0);
    for (let c = 0; c < owner.length; c++) totals[owner[c]] += contributions[this.group * width + c];
    const sign = this.explanations.adverse === 'higher' ? 1 : -1;
    const adverse: number[] = [];
    for (let f = 0; f < totals.length; f++) if (sign * totals[f] > 0) adverse.push(f);
    adverse.sort((a, b) => sign * totals[b] - sign * totals[a] || a - b);
    return adverse.slice(0, k).map((f) => {
      const feature = this.spec.features[f].name;
      const { code, text } = this.explanations.reasons[feature];
      return { feature, code, text, contribution: totals[f] };
    });
  }
}
