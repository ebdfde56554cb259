/**
 * Gate: the promotion policy. A candidate is promoted only when it clears the AUC floor and the calibration
 * bound, does not lose more than the allowed AUC to the champion on the same rows, and was trained on data the
 * champion has not already seen (a retrain on an unchanged training set is never promoted).
 */
import type { RetrainingSettings } from '../retraining-settings';
import type { Evaluation } from './evaluate';
import type { PreparedData } from './prepare';

/** Input of the step. */
export interface GateInput {
  readonly prepared: Pick<PreparedData, 'datasetVersion'>;
  readonly evaluation: Evaluation;
}

/** The decision and every reason behind it. */
export interface GateDecision {
  readonly promote: boolean;
  readonly reasons: string[];
  readonly policy: RetrainingSettings['promotion'];
}

/** Applies the policy (pure: no I/O). */
export function decidePromotion(policy: RetrainingSettings['promotion'], input: GateInput): GateDecision {
  const { candidate, champion } = input.evaluation;
  const reasons: string[] = [];
  const f = (x: number) => x.toFixed(4);
  if (candidate.auc < policy.minAuc) reasons.push(`AUC ${f(candidate.auc)} is below the floor ${f(policy.minAuc)}`);
  if (candidate.calibrationError > policy.maxCalibrationError) {
    reasons.push(
      `calibration error ${f(candidate.calibrationError)} exceeds the bound ${f(policy.maxCalibrationError)}`,
    );
  }
  if (champion) {
    if (candidate.auc < champion.metrics.auc - policy.maxAucDrop) {
      reasons.push(
        `AUC ${f(candidate.auc)} drops more than ${f(policy.maxAucDrop)} below the champion's ${f(champion.metrics.auc)}`,
      );
    }
    if (champion.datasetVersion === input.prepared.datasetVersion) {
      reasons.push(`the champion ${champion.modelVersion} was already trained on this dataset version`);
    }
  }
  return { promote: reasons.length === 0, reasons, policy };
}

/** Builds the step's handler. */
export function gateStep({ settings }: { settings: RetrainingSettings }) {
  return async (input: GateInput): Promise<GateDecision> => decidePromotion(settings.promotion, input);
}
