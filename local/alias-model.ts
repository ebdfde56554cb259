/**
 * The local scorer's model source when it follows the local `live` alias (`$MLP_HOME/serving/live.json`, moved by
 * the retraining Deploy step): the model is reloaded when the alias file changes, as a new Lambda version
 * would take over behind the alias in AWS.
 */
import { statSync } from 'node:fs';
import { loadScoringModel, type ScoringModel } from '../lambdas/scorer/scoring-model';
import { LocalScorerDeployment } from './local-scorer-deployment';

/** A model source that follows the alias under `servingDir`. */
export function followLocalAlias(servingDir: string): () => Promise<ScoringModel> {
  const aliasPath = LocalScorerDeployment.aliasPath(servingDir);
  let stamp = '';
  let current: Promise<ScoringModel> | undefined;
  return () => {
    let now: string;
    try {
      const stat = statSync(aliasPath);
      now = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      return Promise.reject(new Error(`no model is deployed under ${servingDir} yet`));
    }
    if (now !== stamp || !current) {
      const alias = LocalScorerDeployment.readAlias(servingDir)!;
      stamp = now;
      current = loadScoringModel({
        modelUri: alias.modelPath,
        featureSpecUri: alias.featureSpecPath,
        modelVersion: alias.modelVersion,
        modelSha256: alias.modelSha256,
        baselineUri: alias.baselinePath,
      });
    }
    return current;
  };
}
