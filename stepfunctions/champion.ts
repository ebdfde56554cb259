/**
 * The champion pointer, `s3://<models>/<dataset>/champion.json`: which registered model the scorer serves. Deploy
 * writes it after the traffic shift; Evaluate and Gate read it to compare a candidate on the same rows.
 */
import type { ArtifactStore } from './artifact-store';
import type { ModelMetrics } from './model-metrics';
import { championPointerUri, type RetrainingSettings } from './retraining-settings';

/** The served model. */
export interface ChampionPointer {
  readonly modelVersion: string;
  readonly modelDataUrl: string;
  readonly featureSpecUri: string;
  readonly modelSha256: string;
  readonly datasetVersion: string;
  readonly trainingJobName: string;
  readonly metrics: ModelMetrics;
  readonly deployedAt: string;
}

/** The current champion, or undefined before the first deployment. */
export async function readChampion(
  store: ArtifactStore,
  settings: RetrainingSettings,
): Promise<ChampionPointer | undefined> {
  const uri = championPointerUri(settings);
  if (!(await store.exists(uri))) return undefined;
  return JSON.parse(Buffer.from(await store.get(uri)).toString('utf8')) as ChampionPointer;
}
