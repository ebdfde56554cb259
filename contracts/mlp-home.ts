/**
 * The local home of `mlp`: `$MLP_HOME`, else `.mlp/` under the current directory. The agent (paths that start
 * with `${MLP_HOME}`, `mlp seed`'s default bank) and local mode (every environment's twin) resolve it here.
 */
import { resolve } from 'node:path';

/** The absolute path of the local home. */
export function mlpHomeOf(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MLP_HOME || '.mlp');
}
