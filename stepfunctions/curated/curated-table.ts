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
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import type { ExtractManifest } from '../../contracts/extract-manifest';
import { curated, landing, s3Uri } from '../../contracts/s3-layout';
import { type ArtifactStore, ArtifactNotFoundError, fileSha256 } from '../artifact-store';
import { type LoadedManifest, loadManifest } from '../extract-manifest';
import type { RetrainingSettings } from '../retraining-settings';
import { StepError } from '../step-error';
import { type Engine, quoteName, quoteText } from './duckdb-engine';
import { MANIFEST_COLUMN, SEQ_COLUMN, windowDateText } from './training-set-sql';

/** What a window value must look like: a month, a date, or a date and time (`T` or a space between). */
const WINDOW_DATE_FORM = String.raw`\d{4}-\d{2}(-\d{2}([T ].*)?)?`;

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
  /** The pseudonymised columns' derivation domains of the first manifest (absent when it recorded none). */
  readonly pseudonyms?: Readonly<Record<string, string>>;
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

/**
 * Refuses a manifest whose pseudonymised columns are derived in other domains than the table's. A table (or a
 * manifest) from before domains were recorded has nothing to compare: it takes the first recorded ones.
 */
function checkDomains(log: TableLog, manifest: ExtractManifest): void {
  if (log.pseudonyms === undefined || manifest.pseudonyms === undefined) return;
  if (JSON.stringify(log.pseudonyms) === JSON.stringify(manifest.pseudonyms)) return;
  throw new StepError(
    'KeyMismatch',
    `run ${manifest.runId} pseudonymises its columns in other domains than the curated ${log.dataset} table of ` +
      `key id ${manifest.kid} (${describeDomains(manifest.pseudonyms)}, the table ${describeDomains(log.pseudonyms)}): ` +
      'its keys would not join. A changed pseudonym policy needs a new key id and a full re-extract.',
  );
}

/** Pseudonym domains for a message: `column → domain`, or that none were recorded. */
function describeDomains(domains: Readonly<Record<string, string>> | undefined): string {
  if (!domains) return 'none recorded';
  const list = Object.entries(domains).map(([column, domain]) => `${column} → ${domain}`);
  return list.length ? list.join(', ') : 'none';
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
  let bytes: Uint8Array;
  try {
    bytes = await store.get(uri);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return undefined;
    throw error; // a transient or access failure: retried, never reported as damage
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    throw new StepError('ManifestInvalid', `${uri} is not valid JSON: the curated table is damaged`);
  }
}

/** A run id usable as a key segment: what the agent writes (timestamp and hash), never a path trick. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** A full extract (no lower watermark): it can start a table. */
const isFull = (m: ExtractManifest) => m.watermark.from === null || m.watermark.from === undefined;

/** Whether an increment starting at `from` follows on from an extract that ended at `to`. */
const follows = (to: unknown, from: unknown) => JSON.stringify(to ?? null) === JSON.stringify(from ?? null);

/** Checks the names a manifest puts into keys: its key id and run id. */
function checkNames(manifest: ExtractManifest): void {
  if (!KID.test(manifest.kid)) throw new StepError('ManifestInvalid', "the manifest's key id is not a valid key id");
  if (!RUN_ID.test(manifest.runId))
    throw new StepError('ManifestInvalid', "the manifest's run id is not a valid run id");
}

/** The curated tables of the dataset in `settings`. */
export class CuratedTables {
  private readonly windowColumn?: string;

  constructor(
    private readonly store: ArtifactStore,
    private readonly settings: Pick<RetrainingSettings, 'dataset' | 'buckets' | 'keyColumn'> &
      Partial<Pick<RetrainingSettings, 'trainingSet'>>,
  ) {
    this.windowColumn = settings.trainingSet?.window.column;
  }

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
    mkdirSync(dir, { recursive: true });
    const paths: string[] = [];
    for (const entry of log.entries.slice(0, seq)) {
      const path = join(dir, `${String(entry.seq).padStart(6, '0')}.parquet`);
      // A file this session already holds intact (an earlier merge of a catch-up) is not fetched again.
      if (existsSync(path) && (await fileSha256(path)) === entry.fileSha256) {
        paths.push(path);
        continue;
      }
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
    checkNames(manifest);
    if (manifestKey !== landing.manifestKey(dataset, manifest.runId)) {
      throw new StepError(
        'ManifestInvalid',
        `${manifestKey.slice(0, 200)} is not the manifest key of run ${manifest.runId}`,
      );
    }
    const currentKid = await this.currentKid();
    const fullExtract = isFull(manifest);
    if (currentKid !== undefined && currentKid !== manifest.kid && !fullExtract) {
      throw keyMismatch(manifest, dataset, currentKid);
    }
    const existing = await this.log(manifest.kid);
    const watermarkColumn = manifest.watermark.column;
    if (existing) checkDomains(existing, manifest);
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
      ...(manifest.pseudonyms ? { pseudonyms: manifest.pseudonyms } : {}),
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
    // A row version the table holds already has the increment's (key, watermark), so its watermark is at least
    // the increment's lowest: only those are looked up (Parquet statistics skip the rest of the table).
    // The lowest as its own type's literal, from its text (a BIGINT through a JS number could round).
    const [{ lowest, type }] = await engine.rows(
      `SELECT CAST(MIN(${wm}) AS VARCHAR) AS lowest, typeof(MIN(${wm})) AS type FROM ${increment} AS i`,
    );
    const atLeast = lowest === null ? 'NULL' : `CAST(${quoteText(String(lowest))} AS ${String(type)})`;
    const fresh =
      files.length === 0
        ? `SELECT * FROM ${increment} AS i`
        : `SELECT * FROM ${increment} AS i WHERE NOT EXISTS (SELECT 1 FROM (SELECT ${key}, ${wm} FROM ` +
          `read_parquet([${files.map(quoteText).join(', ')}]) WHERE ${wm} >= ${atLeast}) AS e ` +
          `WHERE e.${key} = i.${key} AND e.${wm} = i.${wm})`;
    await engine.run(`COPY (${fresh}) TO ${quoteText(file)} (FORMAT PARQUET)`);
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
    const next: TableLog = {
      ...log,
      ...(log.pseudonyms === undefined && manifest.pseudonyms ? { pseudonyms: manifest.pseudonyms } : {}),
      entries: [...log.entries, entry],
    };
    await this.store.put(this.uri(curated.tableLogKey(dataset, manifest.kid)), `${JSON.stringify(next, null, 2)}\n`);
    await this.makeCurrent(manifest.kid, currentKid);
    return { log: next, entry, files: [...files, file] };
  }

  /**
   * What must be merged before an increment, in landing order, so that the table never has a gap. An increment
   * follows on from the extract before it (its lower watermark is where that one ended): when it does not
   * follow on from the table's last entry (an event lost, a run failed, executions out of order), the manifests
   * of its key id landed in between are merged first; when its key id has no table yet (a new environment), the
   * table starts at the latest full extract landed before it. Empty when nothing is missing.
   */
  async missingBefore(loaded: LoadedManifest, manifestKey: string): Promise<LoadedManifest[]> {
    const { manifest } = loaded;
    checkNames(manifest);
    if (isFull(manifest)) return [];
    const log = await this.log(manifest.kid);
    // Pseudonyms of another domain never follow on from the table's: said as what it is, not as a gap.
    if (log) checkDomains(log, manifest);
    const merged = new Set(log?.entries.map((e) => e.manifestSha256) ?? []);
    if (merged.has(loaded.datasetVersion)) return [];
    const last = log?.entries.at(-1);
    if (last && follows(last.watermark.to, manifest.watermark.from)) return [];
    const bucket = s3Uri(this.settings.buckets.landing, '');
    const landed = (
      await this.store.list(s3Uri(this.settings.buckets.landing, landing.datasetPrefix(this.settings.dataset)))
    )
      .map((uri) => uri.slice(bucket.length))
      .filter(
        (key) =>
          landing.isManifestKey(key, this.settings.dataset) &&
          key < manifestKey &&
          (last === undefined || key > last.manifestKey),
      )
      .sort();
    const chain: LoadedManifest[] = [];
    for (const key of landed.reverse()) {
      const candidate = await loadManifest(this.store, s3Uri(this.settings.buckets.landing, key));
      if (candidate.manifest.kid !== manifest.kid || merged.has(candidate.datasetVersion)) continue;
      chain.unshift(candidate);
      if (isFull(candidate.manifest)) break;
    }
    if (!log && (chain.length === 0 || !isFull(chain[0].manifest))) {
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
    let to: unknown = last?.watermark.to;
    for (const next of [...chain, loaded]) {
      if (!isFull(next.manifest) && !follows(to, next.manifest.watermark.from)) {
        throw new StepError(
          'ManifestInvalid',
          `run ${next.manifest.runId} starts where no merged or landed extract of key id ${manifest.kid} ended: an ` +
            'extract between is missing; re-extract from scratch under a new run to start again',
        );
      }
      to = next.manifest.watermark.to;
    }
    return chain;
  }

  private async makeCurrent(kid: string, currentKid: string | undefined): Promise<void> {
    if (currentKid === kid) return;
    await this.store.put(this.uri(curated.currentTableKey(this.settings.dataset)), `${JSON.stringify({ kid })}\n`);
  }

  /**
   * Loads an extract's parts (checksums, headers and row count checked again) into a typed table of the engine,
   * tagged with the manifest, and returns a query of its row versions; a value that is not of its column's type
   * (or not finite), a window value that is not a date, or a repeated (key, watermark) is refused by name and
   * count.
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
    // One pass over the parts: each value cast to its column's type, and beside each numeric column a flag for
    // a value that is present but not of that type (counted, then left out: the value itself is never reported).
    const typed = `"increment_${seq}"`;
    const names = columns.map(([c]) => `${quoteText(c)}: 'VARCHAR'`).join(', ');
    const numeric = columns.filter(([, type]) => type === 'integer' || type === 'number');
    const window =
      this.windowColumn !== undefined && this.windowColumn in manifest.schema ? this.windowColumn : undefined;
    const flag = (c: string) => quoteName(`__not_${c}`);
    const select = [
      ...columns.map(([c, type]) => `TRY_CAST(${quoteName(c)} AS ${SQL_TYPES[type] ?? 'VARCHAR'}) AS ${quoteName(c)}`),
      `CAST(${seq} AS INTEGER) AS ${quoteName(SEQ_COLUMN)}`,
      `${quoteText(manifestSha256)} AS ${quoteName(MANIFEST_COLUMN)}`,
      ...numeric.map(([c, type]) => {
        const cast = `TRY_CAST(${quoteName(c)} AS ${SQL_TYPES[type]})`;
        const bad = type === 'number' ? `${cast} IS NULL OR NOT isfinite(${cast})` : `${cast} IS NULL`;
        return `(${quoteName(c)} IS NOT NULL AND (${bad})) AS ${flag(c)}`;
      }),
      ...(window
        ? [
            // The date DuckDB's lenient cast accepts must also be the ISO form Athena's cast accepts.
            `(${quoteName(window)} IS NOT NULL AND (TRY_CAST(${windowDateText(window)} AS DATE) IS NULL OR ` +
              `NOT regexp_full_match(${quoteName(window)}, ${quoteText(WINDOW_DATE_FORM)}))) AS ${flag(window)}`,
          ]
        : []),
    ];
    try {
      await engine.run(
        `CREATE TABLE ${typed} AS SELECT ${select.join(', ')} FROM read_csv([${paths.map(quoteText).join(', ')}], ` +
          `header = true, auto_detect = false, columns = {${names}}, compression = 'gzip', allow_quoted_nulls = false, ` +
          `quote = '"', escape = '"')`,
      );
    } catch {
      // DuckDB's message may quote a field: report that the parts are malformed, nothing more.
      throw new StepError('ManifestInvalid', `the parts of run ${manifest.runId} are not well-formed gzip CSV files`);
    }
    const flagged = [...numeric.map(([c]) => c), ...(window ? [window] : [])];
    const [counted] = await engine.rows(
      `SELECT ${['COUNT(*) AS "__rows"', ...flagged.map((c) => `SUM(CAST(${flag(c)} AS INTEGER)) AS ${quoteName(c)}`)].join(', ')} ` +
        `FROM ${typed}`,
    );
    if (Number(counted.__rows) !== manifest.totalRows) {
      throw new StepError(
        'ManifestInvalid',
        `the parts of run ${manifest.runId} hold ${counted.__rows} rows, the manifest says ${manifest.totalRows}`,
      );
    }
    const wrong = flagged.filter((c) => Number(counted[c] ?? 0) > 0);
    if (wrong.length > 0) {
      const what = (c: string) =>
        c in Object.fromEntries(numeric)
          ? `finite ${manifest.schema[c]}s`
          : 'dates (YYYY-MM-DD) or months (YYYY-MM), as the training window needs';
      throw new StepError(
        'SchemaMismatch',
        `run ${manifest.runId}: ${wrong.map((c) => `${c} holds ${counted[c]} value(s) that are not ${what(c)}`).join('; ')}`,
      );
    }
    // The row versions without the flags (selected, not dropped: ALTER TABLE would rewrite the table).
    const kept = [...columns.map(([c]) => c), SEQ_COLUMN, MANIFEST_COLUMN].map(quoteName).join(', ');
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
    return `(SELECT ${kept} FROM ${typed})`;
  }
}

/** The first line of a gzip file (its CSV header), read no further than needed; '' when unreadable. */
async function firstLine(path: string): Promise<string> {
  const file = createReadStream(path);
  const stream = file.pipe(createGunzip());
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
    file.destroy();
  }
}
