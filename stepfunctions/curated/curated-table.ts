/**
 * A dataset's curated table: every validated increment merged into Parquet in the curated bucket, one row
 * version per (primary key, watermark), each tagged with the manifest that added it. The table is a log of
 * merged manifests (`_log.json`, rewritten after each file lands: the commit) and one Parquet file per
 * manifest. A table holds rows pseudonymised under one key id: a manifest under another is refused, unless it
 * is a full re-extract, which starts that key id's own table and makes it current.
 *
 * Merging is idempotent: a manifest already in the log is not merged again, so a retried or repeated Prepare
 * adds nothing and finds the same table.
 */
import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import type { ExtractManifest } from '../../contracts/extract-manifest';
import { curated, landing, s3Uri } from '../../contracts/s3-layout';
import { type ArtifactStore, ArtifactNotFoundError, fileSha256 } from '../artifact-store';
import { type LoadedManifest, loadManifest } from '../extract-manifest';
import type { RetrainingSettings } from '../retraining-settings';
import { StepError } from '../step-error';
import { type Engine, quoteName, quoteText } from './duckdb-engine';
import { MANIFEST_COLUMN, SEQ_COLUMN } from './training-set-sql';

/** Identifier of the log format. */
export const TABLE_FORMAT = 'mlp.curated-table/1';

/** One merged manifest. */
export interface TableEntry {
  /** Position in the log, from 1. */
  readonly seq: number;
  readonly manifestKey: string;
  /** SHA-256 of the manifest's bytes. */
  readonly manifestSha256: string;
  readonly runId: string;
  readonly createdAt: string;
  readonly watermark: { readonly from: unknown; readonly to: unknown };
  /** The data's date as of this manifest (ISO date, see {@link asOfOf}). */
  readonly asOf: string;
  /** Rows the manifest carried, and how many were new row versions (the rest the table already held). */
  readonly rows: number;
  readonly added: number;
  /** Key of the Parquet file in the curated bucket, its SHA-256 and size. */
  readonly file: string;
  readonly fileSha256: string;
  readonly bytes: number;
  readonly policySha256: string;
}

/** A table's log. */
export interface TableLog {
  readonly format: typeof TABLE_FORMAT;
  readonly dataset: string;
  readonly kid: string;
  readonly keyColumn: string;
  readonly watermarkColumn: string;
  /** Column → `string`, `integer` or `number`, as in the manifests. */
  readonly schema: Readonly<Record<string, string>>;
  readonly entries: readonly TableEntry[];
}

/** A key id usable as a key segment: what the agent's config allows, never a path trick. */
const KID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

const SQL_TYPES: Readonly<Record<string, string>> = { string: 'VARCHAR', integer: 'BIGINT', number: 'DOUBLE' };

/**
 * The data's date of a manifest: the upper bound of its watermark window (every change up to it is in the
 * table once the manifest is merged) when a date or epoch seconds, else its last watermark value, else the
 * date it was extracted.
 */
export function asOfOf(manifest: Pick<ExtractManifest, 'watermark' | 'createdAt'>): string {
  const { upperBound, to } = manifest.watermark;
  const last = to !== null && typeof to === 'object' ? (to as { value?: unknown }).value : to;
  for (const value of [upperBound, last]) {
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) return value.slice(0, 10);
    if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000).toISOString().slice(0, 10);
  }
  return manifest.createdAt.slice(0, 10);
}

/** The refusal of an increment pseudonymised under another key id than the current table's. */
function keyMismatch(manifest: ExtractManifest, dataset: string, currentKid: string): StepError {
  return new StepError(
    'KeyMismatch',
    `run ${manifest.runId} was pseudonymised under key id ${manifest.kid}, the curated ${dataset} table under ` +
      `${currentKid}: its keys would not join. Re-extract from scratch under ${manifest.kid} to start its table.`,
  );
}

async function readJson<T>(store: ArtifactStore, uri: string): Promise<T | undefined> {
  if (!(await store.exists(uri))) return undefined;
  try {
    return JSON.parse(Buffer.from(await store.get(uri)).toString('utf8')) as T;
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return undefined;
    throw new StepError('ManifestInvalid', `${uri} is not valid JSON: the curated table is damaged`);
  }
}

/** The curated tables of the dataset in `settings`. */
export class CuratedTables {
  constructor(
    private readonly store: ArtifactStore,
    private readonly settings: Pick<RetrainingSettings, 'dataset' | 'buckets' | 'keyColumn'>,
  ) {}

  private uri(key: string): string {
    return s3Uri(this.settings.buckets.curated, key);
  }

  /** The key id of the current table, if any manifest was merged. */
  async currentKid(): Promise<string | undefined> {
    const pointer = await readJson<{ kid?: unknown }>(
      this.store,
      this.uri(curated.currentTableKey(this.settings.dataset)),
    );
    return typeof pointer?.kid === 'string' && KID.test(pointer.kid) ? pointer.kid : undefined;
  }

  /** The log of the table of `kid`, if it exists. */
  async log(kid: string): Promise<TableLog | undefined> {
    const log = await readJson<TableLog>(this.store, this.uri(curated.tableLogKey(this.settings.dataset, kid)));
    if (log && (log.format !== TABLE_FORMAT || log.kid !== kid || !Array.isArray(log.entries))) {
      throw new StepError('ManifestInvalid', `the curated table log of key id ${kid} is not a ${TABLE_FORMAT} log`);
    }
    return log;
  }

  /** The current table's log, if any. */
  async current(): Promise<TableLog | undefined> {
    const kid = await this.currentKid();
    return kid === undefined ? undefined : this.log(kid);
  }

  /** Downloads the Parquet files of entries 1 to `seq` into `dir`; returns their paths. */
  async download(log: TableLog, seq: number, dir: string): Promise<string[]> {
    const paths: string[] = [];
    for (const entry of log.entries.slice(0, seq)) {
      const path = join(dir, `${String(entry.seq).padStart(6, '0')}.parquet`);
      await this.store.download(this.uri(entry.file), path);
      if ((await fileSha256(path)) !== entry.fileSha256) {
        throw new StepError('ManifestInvalid', `${entry.file} does not match its checksum in the table log`);
      }
      paths.push(path);
    }
    return paths;
  }

  /**
   * Merges an extract (validated by ValidateManifest) into its key id's table; returns the log and the entry.
   * Refuses a manifest under a key id other than the current table's unless it is a full extract, one whose
   * columns differ from the table's, and one that repeats a (key, watermark) within itself.
   */
  async merge(
    engine: Engine,
    loaded: LoadedManifest,
    manifestKey: string,
  ): Promise<{ log: TableLog; entry: TableEntry; files: string[] }> {
    const { manifest, datasetVersion: manifestSha256 } = loaded;
    const { dataset, keyColumn } = this.settings;
    if (!KID.test(manifest.kid)) throw new StepError('ManifestInvalid', `the manifest's key id is not a valid key id`);
    const currentKid = await this.currentKid();
    const fullExtract = manifest.watermark.from === null || manifest.watermark.from === undefined;
    if (currentKid !== undefined && currentKid !== manifest.kid && !fullExtract) {
      throw keyMismatch(manifest, dataset, currentKid);
    }
    const existing = await this.log(manifest.kid);
    const watermarkColumn = manifest.watermark.column;
    if (existing) {
      const same = JSON.stringify(Object.entries(existing.schema)) === JSON.stringify(Object.entries(manifest.schema));
      if (!same || existing.watermarkColumn !== watermarkColumn || existing.keyColumn !== keyColumn) {
        throw new StepError(
          'SchemaMismatch',
          `run ${manifest.runId} has columns or a watermark other than the curated ${dataset} table of key id ` +
            `${manifest.kid}; a changed policy needs a new key id and a full re-extract`,
        );
      }
    }
    const log: TableLog = existing ?? {
      format: TABLE_FORMAT,
      dataset,
      kid: manifest.kid,
      keyColumn,
      watermarkColumn,
      schema: manifest.schema,
      entries: [],
    };
    const dir = join(engine.scratch, 'table');
    mkdirSync(dir, { recursive: true });
    const merged = log.entries.find((e) => e.manifestSha256 === manifestSha256);
    if (merged) {
      await this.makeCurrent(manifest.kid, currentKid);
      return { log, entry: merged, files: await this.download(log, merged.seq, dir) };
    }
    const files = await this.download(log, log.entries.length, dir);
    const seq = log.entries.length + 1;
    const increment = await this.load(engine, manifest, seq, manifestSha256);
    const file = join(dir, `${String(seq).padStart(6, '0')}.parquet`);
    const key = quoteName(keyColumn);
    const wm = quoteName(watermarkColumn);
    const fresh =
      files.length === 0
        ? `SELECT * FROM ${increment}`
        : `SELECT * FROM ${increment} AS i WHERE NOT EXISTS (SELECT 1 FROM read_parquet([${files.map(quoteText).join(', ')}]) AS e ` +
          `WHERE e.${key} = i.${key} AND e.${wm} = i.${wm})`;
    await engine.run(`COPY (${fresh} ORDER BY ${key}, ${wm}) TO ${quoteText(file)} (FORMAT PARQUET)`);
    const [{ added }] = await engine.rows(`SELECT COUNT(*) AS added FROM read_parquet(${quoteText(file)})`);
    const fileKey = curated.tableFileKey(dataset, manifest.kid, seq, manifest.runId);
    await this.store.upload(this.uri(fileKey), file);
    const entry: TableEntry = {
      seq,
      manifestKey,
      manifestSha256,
      runId: manifest.runId,
      createdAt: manifest.createdAt,
      watermark: { from: manifest.watermark.from ?? null, to: manifest.watermark.to ?? null },
      asOf: asOfOf(manifest),
      rows: manifest.totalRows,
      added: Number(added),
      file: fileKey,
      fileSha256: await fileSha256(file),
      bytes: statSync(file).size,
      policySha256: manifest.policySha256,
    };
    const next: TableLog = { ...log, entries: [...log.entries, entry] };
    await this.store.put(this.uri(curated.tableLogKey(dataset, manifest.kid)), `${JSON.stringify(next, null, 2)}\n`);
    await this.makeCurrent(manifest.kid, currentKid);
    return { log: next, entry, files: [...files, file] };
  }

  /**
   * What must be merged before an increment that would start its key id's table: the latest full extract under
   * that key id landed before it and every increment under it since, in landing order. A table always starts at
   * a full extract, so an environment that missed earlier manifests (a new one, or events lost) catches up on
   * its first run instead of training on one increment. Empty when the table exists or the extract is full.
   */
  async missingBefore(loaded: LoadedManifest, manifestKey: string): Promise<LoadedManifest[]> {
    const { manifest } = loaded;
    const full = (m: ExtractManifest) => m.watermark.from === null || m.watermark.from === undefined;
    if (full(manifest) || (await this.log(manifest.kid)) !== undefined) return [];
    const bucket = s3Uri(this.settings.buckets.landing, '');
    const earlier = (
      await this.store.list(s3Uri(this.settings.buckets.landing, landing.datasetPrefix(this.settings.dataset)))
    )
      .map((uri) => uri.slice(bucket.length))
      .filter((key) => landing.isManifestKey(key, this.settings.dataset) && key < manifestKey)
      .sort();
    const chain: LoadedManifest[] = [];
    for (const key of earlier.reverse()) {
      const candidate = await loadManifest(this.store, s3Uri(this.settings.buckets.landing, key));
      if (candidate.manifest.kid !== manifest.kid) continue;
      chain.unshift(candidate);
      if (full(candidate.manifest)) return chain;
    }
    const currentKid = await this.currentKid();
    if (currentKid !== undefined && currentKid !== manifest.kid) {
      throw keyMismatch(manifest, this.settings.dataset, currentKid);
    }
    throw new StepError(
      'ManifestInvalid',
      `run ${manifest.runId} is an increment and no full extract under key id ${manifest.kid} was landed before it: ` +
        're-extract from scratch to start the table',
    );
  }

  private async makeCurrent(kid: string, currentKid: string | undefined): Promise<void> {
    if (currentKid === kid) return;
    await this.store.put(this.uri(curated.currentTableKey(this.settings.dataset)), `${JSON.stringify({ kid })}\n`);
  }

  /**
   * Loads an extract's parts (checksums checked again) into a typed table of the engine, tagged with the
   * manifest; a value that is not of its column's type, a window-less date or a repeated (key, watermark) is
   * refused by name and count.
   */
  private async load(engine: Engine, manifest: ExtractManifest, seq: number, manifestSha256: string): Promise<string> {
    const dir = join(engine.scratch, `parts-${seq}`);
    mkdirSync(dir, { recursive: true });
    const paths: string[] = [];
    for (const [i, part] of manifest.parts.entries()) {
      if (!part.key.startsWith(landing.runPrefix(this.settings.dataset, manifest.runId))) {
        throw new StepError('ManifestInvalid', `part ${part.key.slice(0, 200)} lies outside run ${manifest.runId}`);
      }
      const path = join(dir, `part-${i}.csv.gz`);
      try {
        await this.store.download(s3Uri(this.settings.buckets.landing, part.key), path);
      } catch {
        throw new StepError('ManifestInvalid', `part ${part.key} is missing`);
      }
      if ((await fileSha256(path)) !== part.sha256) {
        throw new StepError('ManifestInvalid', `part ${part.key} does not match its checksum in the manifest`);
      }
      if ((await firstLine(path)) !== Object.keys(manifest.schema).join(',')) {
        throw new StepError('SchemaMismatch', `part ${part.key} has columns that differ from the manifest schema`);
      }
      paths.push(path);
    }
    const columns = Object.entries(manifest.schema);
    const text = `"raw_${seq}"`;
    const names = columns.map(([c]) => `${quoteText(c)}: 'VARCHAR'`).join(', ');
    try {
      await engine.run(
        `CREATE TABLE ${text} AS SELECT * FROM read_csv([${paths.map(quoteText).join(', ')}], header = true, ` +
          `auto_detect = false, columns = {${names}}, compression = 'gzip', allow_quoted_nulls = false, quote = '"', escape = '"')`,
      );
    } catch {
      // DuckDB's message may quote a field: report that the parts are malformed, nothing more.
      throw new StepError('ManifestInvalid', `the parts of run ${manifest.runId} are not well-formed gzip CSV files`);
    }
    const [{ rows }] = await engine.rows(`SELECT COUNT(*) AS rows FROM ${text}`);
    if (Number(rows) !== manifest.totalRows) {
      throw new StepError(
        'ManifestInvalid',
        `the parts of run ${manifest.runId} hold ${rows} rows, the manifest says ${manifest.totalRows}`,
      );
    }
    const checks = columns
      .filter(([, type]) => type === 'integer' || type === 'number')
      .map(
        ([c, type]) =>
          `SUM(CASE WHEN ${quoteName(c)} IS NOT NULL AND TRY_CAST(${quoteName(c)} AS ${SQL_TYPES[type]}) IS NULL THEN 1 ELSE 0 END) AS ${quoteName(c)}`,
      );
    if (checks.length > 0) {
      const [bad] = await engine.rows(`SELECT ${checks.join(', ')} FROM ${text}`);
      const wrong = Object.entries(bad).filter(([, n]) => Number(n) > 0);
      if (wrong.length > 0) {
        throw new StepError(
          'SchemaMismatch',
          `run ${manifest.runId}: ${wrong.map(([c, n]) => `${c} holds ${n} value(s) that are not ${manifest.schema[c]}`).join('; ')}`,
        );
      }
    }
    const typed = `"increment_${seq}"`;
    const select = columns.map(
      ([c, type]) => `CAST(${quoteName(c)} AS ${SQL_TYPES[type] ?? 'VARCHAR'}) AS ${quoteName(c)}`,
    );
    await engine.run(
      `CREATE TABLE ${typed} AS SELECT ${select.join(', ')}, CAST(${seq} AS INTEGER) AS ${quoteName(SEQ_COLUMN)}, ` +
        `${quoteText(manifestSha256)} AS ${quoteName(MANIFEST_COLUMN)} FROM ${text}`,
    );
    await engine.run(`DROP TABLE ${text}`);
    const key = quoteName(this.settings.keyColumn);
    const wm = quoteName(manifest.watermark.column);
    const [{ nullKeys, repeated }] = await engine.rows(
      `SELECT (SELECT COUNT(*) FROM ${typed} WHERE ${key} IS NULL OR ${wm} IS NULL) AS "nullKeys", ` +
        `(SELECT COUNT(*) FROM (SELECT 1 FROM ${typed} GROUP BY ${key}, ${wm} HAVING COUNT(*) > 1) AS d) AS repeated`,
    );
    if (Number(nullKeys) > 0) {
      throw new StepError(
        'SchemaMismatch',
        `run ${manifest.runId}: ${nullKeys} row(s) have no ${this.settings.keyColumn} or ${manifest.watermark.column}`,
      );
    }
    if (Number(repeated) > 0) {
      throw new StepError(
        'DuplicateKey',
        `run ${manifest.runId}: ${repeated} (${this.settings.keyColumn}, ${manifest.watermark.column}) pair(s) occur more than once`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
    return typed;
  }
}

/** The first line of a gzip file (its CSV header), read no further than needed; '' when unreadable. */
async function firstLine(path: string): Promise<string> {
  const stream = createReadStream(path).pipe(createGunzip());
  let text = '';
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('utf8');
      const end = text.indexOf('\n');
      if (end >= 0) return text.slice(0, end).replace(/\r$/, '');
      if (text.length > 1 << 20) return '';
    }
    return text;
  } catch {
    return '';
  } finally {
    stream.destroy();
  }
}
