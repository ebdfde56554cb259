/**
 * The local home of `mlp` as the agent resolves it: `$MLP_HOME`, else `.mlp/` under the current directory. The
 * platform side resolves it the same way (stepfunctions/local/local-home.ts); the agent bundle carries only this.
 */
import { resolve } from 'node:path';

/** The absolute path of the local home. */
export function mlpHomeOf(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MLP_HOME || '.mlp');
}
