/**
 * Reading the champion pointer (contracts/champion-pointer.ts) of an environment's dataset: Evaluate and Gate
 * compare a candidate with the model it names.
 */
import { type ChampionPointer, parseChampionPointer } from '../contracts/champion-pointer';
import type { ArtifactStore } from './artifact-store';
import { championPointerUri, type RetrainingSettings } from './retraining-settings';

export type { ChampionPointer };

/** The current champion, or undefined before the first deployment. */
export async function readChampion(
  store: ArtifactStore,
  settings: RetrainingSettings,
): Promise<ChampionPointer | undefined> {
  const uri = championPointerUri(settings);
  if (!(await store.exists(uri))) return undefined;
  return parseChampionPointer(Buffer.from(await store.get(uri)).toString('utf8'), uri);
}
