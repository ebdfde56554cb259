/**
 * Where local mode keeps its state: one directory, `$MLP_HOME` (default `.mlp/` under the current directory),
 * so a user can inspect or delete it and two homes never interfere. Kept free of CDK imports: every `mlp`
 * command that only needs paths loads this, not the state machine runner.
 */
import { join, resolve } from 'node:path';
import type { EnvironmentConfig } from '../../config';
import { retrainingSettings, type RetrainingSettings } from '../retraining-settings';

/** Bucket names of the local stand-in. */
export const LOCAL_BUCKETS = { landing: 'mlp-local-landing', curated: 'mlp-local-curated', models: 'mlp-local-models' };

/** The local home: `$MLP_HOME`, else `.mlp/` under the current directory. */
export function mlpHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MLP_HOME || '.mlp');
}

/** Where the local pieces live under a home. */
export function localLayout(home: string) {
  return {
    home,
    objects: join(home, 's3'),
    landingRoot: join(home, 's3', LOCAL_BUCKETS.landing),
    registry: join(home, 'registry.json'),
    serving: join(home, 'serving'),
    logs: join(home, 'logs'),
  };
}

/** The retraining settings of an environment in local mode. */
export function localSettings(config: EnvironmentConfig): RetrainingSettings {
  return retrainingSettings(config, LOCAL_BUCKETS);
}
