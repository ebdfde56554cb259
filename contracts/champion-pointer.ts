/**
 * The champion pointer, `champion/<dataset>/champion.json` in the models bucket: which registered version the
 * scorer serves. FinishDeploy writes it once a traffic shift completes; the scorer (a version `cdk deploy`
 * installs) loads the model it names; Evaluate and Gate compare a candidate with it.
 */
import type { ModelMetrics } from './model-metrics';

/** The served model. */
export interface ChampionPointer {
  /** `<group>/<n>`: what every prediction carries. */
  readonly modelVersion: string;
  /** The model and feature spec the scorer loads (copies under `champion/`). */
  readonly modelDataUrl: string;
  readonly featureSpecUri: string;
  /** The version's drift baseline (absent on pointers written before baselines travelled with the model). */
  readonly baselineUri?: string;
  /** SHA-256 of the model file: the scorer refuses other bytes. */
  readonly modelSha256: string;
  readonly datasetVersion: string;
  readonly trainingJobName: string;
  readonly metrics: ModelMetrics;
  readonly deployedAt: string;
}

/** The fields the scorer needs to load the model. */
const REQUIRED = ['modelVersion', 'modelDataUrl', 'featureSpecUri', 'modelSha256'] as const;

/** Reads a pointer's text; throws naming the pointer and the missing or malformed field. */
export function parseChampionPointer(text: string, uri: string): ChampionPointer {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error(`champion pointer ${uri} is not valid JSON`);
  }
  if (document === null || typeof document !== 'object') throw new Error(`champion pointer ${uri} is not an object`);
  for (const field of REQUIRED) {
    const value = (document as Record<string, unknown>)[field];
    if (typeof value !== 'string' || value.length === 0) throw new Error(`champion pointer ${uri} has no ${field}`);
  }
  return document as ChampionPointer;
}
