/**
 * Feature importance of a tree ensemble as XGBoost's `get_score(importance_type="weight")` counts it: how many
 * splits of the trees test each feature (model column). Reachable splits only, the ones XGBoost dumps.
 */
import type { TreeEnsemble } from './tree-ensemble';

/** Splits per model column (`numFeature` entries; a column no split tests counts 0). */
export function splitCounts(ensemble: TreeEnsemble): Float64Array {
  const counts = new Float64Array(ensemble.numFeature);
  const { first, nodes } = ensemble;
  for (let n = 0; n < first.length; n++) {
    if (first[n] === n) continue; // a leaf points to itself
    // A flat node reads key `f` (missing goes left) or `numFeature + f` (missing goes right).
    counts[nodes.kind === 'flat' ? nodes.slot[n] % ensemble.numFeature : nodes.feature[n]]++;
  }
  return counts;
}
