/**
 * Gate: the promotion policy. A candidate is promoted only when it clears the AUC floor and the calibration
 * bound, does not lose more than the allowed AUC to the champion on the same rows, and was trained on data the
 * champion has not already seen (a retrain on an unchanged training set is never promoted).
 */
import { type ApprovalTrail, stateMachinePrincipal } from '../governance/approval-trail';
import { modelVersionOf } from '../model-registry';
import { fairnessBreaches } from '../governance/fairness-gate';
import type { FairnessReport } from '../../contracts/fairness';
import type { FairnessPolicy, RetrainingSettings } from '../retraining-settings';
import type { Evaluation } from './evaluate';
import type { PreparedData } from './prepare';

/** Input of the step. */
export interface GateInput {
  readonly prepared: Pick<PreparedData, 'datasetVersion'>;
  readonly evaluation: Evaluation;
  /** The registered candidate: its decision goes into the approval trail. */
  readonly registration?: { readonly modelPackageArn: string };
}

/** The decision and every reason behind it. */
export interface GateDecision {
  readonly promote: boolean;
  readonly reasons: string[];
  readonly policy: RetrainingSettings['promotion'];
}

/**
 * Applies the policy (pure: no I/O); with a fairness policy (config `retraining.fairness`), the candidate's
 * fairness report must clear it too (stepfunctions/governance/fairness-gate.ts).
 */
export function decidePromotion(
  policy: RetrainingSettings['promotion'],
  input: GateInput,
  fairness?: FairnessPolicy,
): GateDecision {
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
  if (fairness) reasons.push(...fairnessBreaches(fairness, input.evaluation.fairness));
  return { promote: reasons.length === 0, reasons, policy };
}

/** Builds the step's handler: decides, and records the decision in the approval trail when there is one. */
export function gateStep({ settings, trail }: { settings: RetrainingSettings; trail?: ApprovalTrail }) {
  return async (input: GateInput): Promise<GateDecision> => {
    const decision = decidePromotion(settings.promotion, input, settings.fairness);
    if (trail && input.registration) {
      const { candidate, champion } = input.evaluation;
      await trail.append(
        {
          environment: settings.envName,
          modelVersion: modelVersionOf(input.registration.modelPackageArn),
          event: decision.promote ? 'gate-passed' : 'gate-failed',
          principal: stateMachinePrincipal(settings.envName),
          reason: decision.promote ? 'every check of the promotion policy passed' : decision.reasons.join('; '),
          details: {
            modelPackageArn: input.registration.modelPackageArn,
            datasetVersion: input.prepared.datasetVersion,
            policy: decision.policy,
            candidate: { auc: candidate.auc, calibrationError: candidate.calibrationError },
            ...(champion ? { champion: { modelVersion: champion.modelVersion, auc: champion.metrics.auc } } : {}),
            ...(input.evaluation.fairness ? { fairness: fairnessSummary(input.evaluation.fairness) } : {}),
          },
        },
        { once: true },
      );
    }
    return decision;
  };
}

/** The fairness figures the trail keeps of a decision: per attribute, aggregates only. */
function fairnessSummary(report: FairnessReport) {
  return report.attributes.map((a) => ({
    attribute: a.attribute,
    approvalRatio: a.approvalRatio,
    equalOpportunityDifference: a.equalOpportunityDifference,
    maxCalibrationGap: a.maxCalibrationGap,
    insufficient: a.insufficient,
    missing: a.missing,
  }));
}
