/**
 * Where local mode keeps its state: one directory, `$MLP_HOME` (default `.mlp/` under the current directory),
 * so a user can inspect or delete it and two homes never interfere. Inside a home every environment has its
 * own twin (buckets, registry, live alias, logs), as each has its own account in AWS; the landing bucket is
 * the one place they share, as the on-prem agent writes there for all of them. Kept free of CDK imports: every
 * `mlp` command that only needs paths loads this, not the state machine runner.
 *
 * ```
 * $MLP_HOME/bank.db                       synthetic bank (mlp seed)
 * $MLP_HOME/agent-state/                  the agent's journals and watermarks
 * $MLP_HOME/s3/mlp-local-landing/         landing bucket: extracts and manifests (every environment reads it)
 * $MLP_HOME/s3/mlp-local-<env>-curated/   prepared channels, feature specs, test records
 * $MLP_HOME/s3/mlp-local-<env>-models/    training output, evaluations, champion/ (what the scorer serves)
 * $MLP_HOME/s3/mlp-local-<env>-capture/   the scorer's captures (drift counts, predictions), drift reports
 * $MLP_HOME/s3/mlp-local-<env>-audit/     the approval trail (approvals/<env>/: one read-only file per entry)
 * $MLP_HOME/registry/<env>.json           the environment's model registry
 * $MLP_HOME/serving/<env>/live.json       the environment's live alias (canary.json, alarms.json, drift-alarm.json)
 * $MLP_HOME/logs/<env>/                   training logs, notifications, in-process Lambda logs
 * ```
 */
import { join } from 'node:path';
import type { EnvironmentConfig } from '../config';
import { mlpHomeOf } from '../contracts/mlp-home';
import { retrainingSettings, type RetrainingSettings } from '../stepfunctions/retraining-settings';

/** The landing bucket of the local stand-in, shared by every local environment. */
export const LOCAL_LANDING_BUCKET = 'mlp-local-landing';

/** Bucket names of an environment's local twin. */
export function localBuckets(envName: string): RetrainingSettings['buckets'] {
  return {
    landing: LOCAL_LANDING_BUCKET,
    curated: `mlp-local-${envName}-curated`,
    models: `mlp-local-${envName}-models`,
    audit: `mlp-local-${envName}-audit`,
  };
}

/** The capture bucket of an environment's local twin: what its scorer saw (monitoring/capture.ts). */
export function localCaptureBucket(envName: string): string {
  return `mlp-local-${envName}-capture`;
}

/** The local home: `$MLP_HOME`, else `.mlp/` under the current directory. */
export const mlpHome = mlpHomeOf;

/** Where an environment's local pieces live under a home. */
export function localLayout(home: string, envName: string) {
  return {
    home,
    objects: join(home, 's3'),
    landingRoot: join(home, 's3', LOCAL_LANDING_BUCKET),
    registry: join(home, 'registry', `${envName}.json`),
    serving: join(home, 'serving', envName),
    logs: join(home, 'logs', envName),
    /** The Glue catalog's stand-in (databases are named by environment). */
    catalog: join(home, 'catalog'),
  };
}

/** The directory layout of an environment's local twin. */
export type LocalLayout = ReturnType<typeof localLayout>;

/** The retraining settings of an environment in local mode. */
export function localSettings(config: Pick<EnvironmentConfig, 'name' | 'retraining'>): RetrainingSettings {
  return retrainingSettings(config, localBuckets(config.name));
}
