/**
 * ValidateManifest: the first step. Finds the extract (the manifest that triggered the execution; for a
 * schedule or drift trigger the latest manifest merged into the curated table, or before any merge the
 * dataset's latest), checks every part's presence, checksum, header and row count, and the schema against the
 * training contract. A bad extract stops the execution here with a named reason.
 */
import type { ArtifactStore } from '../artifact-store';
import { loadManifest, readPart } from '../extract-manifest';
import type { RetrainingSettings } from '../retraining-settings';
import { landing, s3Uri } from '../../contracts/s3-layout';
import { CuratedTables } from '../curated/curated-table';
import { StepError } from '../step-error';

/** Execution input: from the S3 event (manifestKey), the schedule or drift alarm (dataset only), or the CLI. */
export interface RetrainingInput {
  readonly manifestKey?: string;
  readonly trigger?: string;
}

/** What the following steps know about the extract. */
export interface ValidatedExtract {
  readonly dataset: string;
  readonly manifestUri: string;
  /** SHA-256 of the manifest's bytes. */
  readonly manifestSha256: string;
  readonly runId: string;
  readonly totalRows: number;
  readonly parts: number;
  readonly columns: string[];
  readonly kid: string;
  readonly policySha256: string;
  readonly agentVersion: string;
  readonly watermark: { readonly column: string; readonly from: unknown; readonly to: unknown };
  readonly trigger: string;
}

/** Dependencies of the step. */
export interface StepDependencies {
  readonly store: ArtifactStore;
  readonly settings: RetrainingSettings;
}

/** Builds the step's handler. */
export function validateManifestStep({ store, settings }: StepDependencies) {
  return async (input: RetrainingInput): Promise<ValidatedExtract> => {
    const prefix = landing.datasetPrefix(settings.dataset);
    const bucketUri = s3Uri(settings.buckets.landing, '');
    let key = input.manifestKey;
    key ??= (await new CuratedTables(store, settings).current())?.entries.at(-1)?.manifestKey;
    if (key === undefined) {
      const manifests = (await store.list(s3Uri(settings.buckets.landing, prefix))).filter((uri) =>
        landing.isManifestKey(uri.slice(bucketUri.length), settings.dataset),
      );
      if (manifests.length === 0) {
        throw new StepError('ManifestInvalid', `no extract manifest under ${prefix} yet: run the agent first`);
      }
      key = manifests[manifests.length - 1].slice(bucketUri.length);
    }
    if (!landing.isManifestKey(key, settings.dataset)) {
      throw new StepError('ManifestInvalid', `${key.slice(0, 200)} is not a manifest of dataset ${settings.dataset}`);
    }
    const { uri, manifest, datasetVersion } = await loadManifest(store, s3Uri(settings.buckets.landing, key));
    if (manifest.dataset !== settings.dataset) {
      throw new StepError('ManifestInvalid', `${key} describes dataset ${manifest.dataset}, not ${settings.dataset}`);
    }
    checkSchema(manifest.schema, settings);
    const columns = Object.keys(manifest.schema);
    let rows = 0;
    for (const part of manifest.parts) {
      if (!part.key.startsWith(landing.runPrefix(settings.dataset, manifest.runId))) {
        throw new StepError('ManifestInvalid', `part ${part.key.slice(0, 200)} lies outside run ${manifest.runId}`);
      }
      rows += (await readPart(store, settings.buckets.landing, part, columns)).length;
    }
    if (rows !== manifest.totalRows) {
      throw new StepError('ManifestInvalid', `parts hold ${rows} rows, the manifest says ${manifest.totalRows}`);
    }
    return {
      dataset: manifest.dataset,
      manifestUri: uri,
      manifestSha256: datasetVersion,
      runId: manifest.runId,
      totalRows: manifest.totalRows,
      parts: manifest.parts.length,
      columns,
      kid: manifest.kid,
      policySha256: manifest.policySha256,
      agentVersion: manifest.agentVersion,
      watermark: { column: manifest.watermark.column, from: manifest.watermark.from, to: manifest.watermark.to },
      trigger: input.trigger ?? 'manual',
    };
  };
}

/** The extract must carry the key, the label and every feature, numeric ones as numbers. */
function checkSchema(schema: Record<string, string>, settings: RetrainingSettings): void {
  const problems: string[] = [];
  const numeric = (column: string) => schema[column] === 'integer' || schema[column] === 'number';
  for (const column of [settings.keyColumn, settings.label, ...settings.categoricalFeatures]) {
    if (!(column in schema)) problems.push(`${column} is missing`);
  }
  const windowColumn = settings.trainingSet.window.column;
  if (!(windowColumn in schema)) problems.push(`${windowColumn} (the training window) is missing`);
  else if (schema[windowColumn] !== 'string') problems.push(`${windowColumn} (the training window) is not a date`);
  for (const column of settings.numericFeatures) {
    if (!(column in schema)) problems.push(`${column} is missing`);
    else if (!numeric(column)) problems.push(`${column} is ${schema[column]}, expected a number`);
  }
  if (settings.label in schema && !numeric(settings.label)) problems.push(`${settings.label} (label) is not numeric`);
  if (problems.length > 0) {
    throw new StepError('SchemaMismatch', `the extract does not match the training contract: ${problems.join('; ')}`);
  }
}
