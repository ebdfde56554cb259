/**
 * Reading an extract on the cloud side: its manifest (contracts/extract-manifest.ts) fetched and validated, its
 * parts read back as CSV rows and checked against it. The SHA-256 of the manifest's bytes is the dataset version.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { type ExtractManifest, parseExtractManifest } from '../contracts/extract-manifest';
import { type ArtifactStore, ArtifactNotFoundError } from './artifact-store';
import { StepError } from './step-error';
import { sdkErrorSummary } from './sdk-error';

/** A manifest with where it came from and its version. */
export interface LoadedManifest {
  readonly uri: string;
  readonly manifest: ExtractManifest;
  /** SHA-256 of the manifest's bytes: the dataset version. */
  readonly datasetVersion: string;
}

/**
 * Reads and validates a manifest; a missing or malformed one is a `ManifestInvalid` naming it. Any other failure
 * to read it (denied, throttled, the network) is not the manifest's fault: thrown as an Error naming the URI and
 * the failure's name and HTTP status only (an SDK message can carry the caller's ARN).
 */
export async function loadManifest(store: ArtifactStore, uri: string): Promise<LoadedManifest> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(uri);
  } catch (error) {
    // S3 answers a missing key with 403 where the role may not list that far: a listing tells the two apart.
    if (error instanceof ArtifactNotFoundError || !(await store.exists(uri))) {
      throw new StepError('ManifestInvalid', `${uri} does not exist`);
    }
    const summary = sdkErrorSummary(error) ?? (error as Error)?.name ?? 'an error';
    throw new Error(`${uri} cannot be read: ${summary}`, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new StepError('ManifestInvalid', `${uri} is not valid JSON`);
  }
  const result = parseExtractManifest(document);
  if (!result.ok) throw new StepError('ManifestInvalid', `${uri}: ${result.problems.slice(0, 5).join('; ')}`);
  return { uri, manifest: result.manifest, datasetVersion: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Reads one part and checks it against the manifest: present, SHA-256 and size as recorded, gzip CSV whose
 * header matches the schema and whose row count matches. Returns the data rows as strings.
 */
export async function readPart(
  store: ArtifactStore,
  bucket: string,
  part: ExtractManifest['parts'][number],
  columns: readonly string[],
): Promise<string[][]> {
  const uri = `s3://${bucket}/${part.key}`;
  let body: Uint8Array;
  try {
    body = await store.get(uri);
  } catch {
    throw new StepError('ManifestInvalid', `part ${part.key} is missing`);
  }
  const digest = createHash('sha256').update(body).digest('hex');
  if (digest !== part.sha256 || body.length !== part.bytes) {
    throw new StepError('ManifestInvalid', `part ${part.key} does not match its checksum in the manifest`);
  }
  let records: string[][];
  try {
    records = parse(gunzipSync(body)) as string[][]; // a row of another width is an error by default
  } catch (error) {
    // The parser's message may quote a field: report its code only.
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new StepError('ManifestInvalid', `part ${part.key} is not a well-formed gzip CSV file (${code})`);
  }
  const [header, ...rows] = records;
  if (!header || header.join(',') !== columns.join(',')) {
    throw new StepError('SchemaMismatch', `part ${part.key} has columns that differ from the manifest schema`);
  }
  if (rows.length !== part.rows) {
    throw new StepError(
      'ManifestInvalid',
      `part ${part.key} holds ${rows.length} rows, the manifest says ${part.rows}`,
    );
  }
  return rows;
}
