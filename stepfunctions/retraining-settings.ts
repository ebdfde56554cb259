/**
 * What the retraining steps need to know about their environment: the training contract (key, label,
 * features), the promotion policy and the buckets. CDK passes it to each Lambda as `RETRAINING_SETTINGS`;
 * the local runner builds it from the same environment configuration.
 */
import type { EnvironmentConfig } from '../config';
import { glueDatabaseName, modelPackageGroupName } from '../contracts/resource-names';
import { audit, models, s3Uri } from '../contracts/s3-layout';
import type { Explanations } from '../contracts/reason-codes';

/** Settings shared by every retraining step. */
export interface RetrainingSettings {
  readonly envName: string;
  readonly dataset: string;
  readonly keyColumn: string;
  readonly label: string;
  readonly numericFeatures: readonly string[];
  readonly categoricalFeatures: readonly string[];
  /** The training window and label maturity (config `retraining.trainingSet`). */
  readonly trainingSet: {
    readonly window: { readonly column: string; readonly months: number };
    readonly maturity: { readonly minAgeMonths: number };
    readonly engine: 'duckdb' | 'athena';
  };
  /** The Glue database the curated tables are registered in, for Athena (engine `athena`). */
  readonly glueDatabase: string;
  readonly promotion: {
    readonly minAuc: number;
    readonly maxAucDrop: number;
    readonly maxCalibrationError: number;
  };
  /** Bucket names; `audit` holds the approval trail (absent: decisions are not recorded there). */
  readonly buckets: {
    readonly landing: string;
    readonly curated: string;
    readonly models: string;
    readonly audit?: string;
  };
  /** SageMaker Model Package Group of the dataset's models. */
  readonly modelPackageGroup: string;
  /** The reason-code table Prepare writes into each model's feature spec (config `retraining.explanations`). */
  readonly explanations?: Explanations;
  /** The fairness gate (config `retraining.fairness`): what Evaluate reports and the limits the Gate applies. */
  readonly fairness?: FairnessPolicy;
  /** What the model is for, as its model card states it (config `retraining.intendedUse`). */
  readonly intendedUse?: string;
}

/** The fairness gate's configuration, as config `retraining.fairness` gives it (config/schema.ts documents it). */
export interface FairnessPolicy {
  readonly dataset: string;
  readonly attributes: readonly string[];
  readonly approvalThreshold: number;
  readonly confidence: number;
  readonly minGroupSize: number;
  readonly limits: {
    readonly minApprovalRatio: number;
    readonly maxEqualOpportunityDifference: number;
    readonly maxCalibrationGap: number;
    readonly maxMissingFraction: number;
  };
}

/** Settings of an environment's retraining, with the given bucket names. */
export function retrainingSettings(
  config: Pick<EnvironmentConfig, 'name' | 'retraining'>,
  buckets: RetrainingSettings['buckets'],
): RetrainingSettings {
  const r = config.retraining;
  return {
    envName: config.name,
    dataset: r.dataset,
    keyColumn: r.keyColumn,
    label: r.label,
    numericFeatures: r.numericFeatures,
    categoricalFeatures: r.categoricalFeatures,
    trainingSet: r.trainingSet,
    glueDatabase: glueDatabaseName(config.name),
    promotion: r.promotion,
    buckets,
    modelPackageGroup: modelPackageGroupName(config.name, r.dataset),
    ...(r.explanations ? { explanations: r.explanations } : {}),
    ...(r.fairness ? { fairness: r.fairness } : {}),
    ...(r.intendedUse ? { intendedUse: r.intendedUse } : {}),
  };
}

/**
 * URI of the pointer to the model the scorer serves for a dataset. It sits under the models bucket's `champion/`
 * prefix, the only one the scorer may read: a scorer version without an explicit MODEL_URI (what `cdk deploy`
 * installs) follows it, so redeploying the stack never undoes a promotion.
 */
export function championPointerUri(settings: Pick<RetrainingSettings, 'buckets' | 'dataset'>): string {
  return s3Uri(settings.buckets.models, models.championPointerKey(settings.dataset));
}

/** Reads settings from the Lambda environment (`RETRAINING_SETTINGS`, JSON). */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): RetrainingSettings {
  const text = env.RETRAINING_SETTINGS;
  if (!text) throw new Error('RETRAINING_SETTINGS is not set');
  return JSON.parse(text) as RetrainingSettings;
}

/** URI of the environment's approval trail (stepfunctions/governance/approval-trail.ts), when it has an audit bucket. */
export function approvalTrailUri(settings: {
  readonly envName: string;
  readonly buckets: Pick<RetrainingSettings['buckets'], 'audit'>;
}): string | undefined {
  const bucket = settings.buckets.audit;
  return bucket ? s3Uri(bucket, audit.approvalTrailPrefix(settings.envName)) : undefined;
}
