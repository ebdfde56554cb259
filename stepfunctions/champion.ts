/**
 * Reading the champion pointer (contracts/champion-pointer.ts) of an environment's dataset: Evaluate and Gate
 * compare a candidate with the model it names; the drift job judges the traffic of the model it names.
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
  return readChampionAt(store, championPointerUri(settings));
}

/** The champion pointer at `uri`, or undefined when there is none. */
export async function readChampionAt(store: ArtifactStore, uri: string): Promise<ChampionPointer | undefined> {
  if (!(await store.exists(uri))) return undefined;
  return parseChampionPointer(Buffer.from(await store.get(uri)).toString('utf8'), uri);
}
