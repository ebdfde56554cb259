/**
 * A side table: the curated table of an agent dataset of its own that is keyed by the training dataset's
 * pseudonymous key (the realised outcomes the quality job reads, the protected attributes Evaluate's fairness
 * gate reads). Nothing else merges its extracts, so its reader merges what landed first (checksums, schema, gaps
 * and pseudonym domains as Prepare checks them), checks that its keys can join the training table's, and reads
 * the latest version of each key. What keeps it from being read is told in `problems`, never thrown: a reader
 * decides what a missing side table means (the quality job freezes realised figures, the fairness gate fails).
 */
import { join } from 'node:path';
import { landing, s3Uri } from '../../contracts/s3-layout';
import type { ArtifactStore } from '../artifact-store';
import { type LoadedManifest, loadManifest } from '../extract-manifest';
import { StepError } from '../step-error';
import { CuratedTables, type TableLog } from './curated-table';
import { type Engine, quoteName, withEngine } from './duckdb-engine';
import { parquetSource } from './training-set';
import { snapshotSql } from './training-set-sql';

/** Where a side table is and how its reader names it. */
export interface SideTable {
  /** The side dataset (an `onPrem.datasets` entry). */
  readonly dataset: string;
  /** Its pseudonymous key: the training dataset's key column, linked by the agent's `linkAs`. */
  readonly keyColumn: string;
  /** The training dataset, whose table's key id and key domain the side table's must match to join. */
  readonly trainingDataset: string;
  readonly buckets: { readonly landing: string; readonly curated: string };
  /**
   * True for a dataset of its own: its landed extracts are merged before reading. False when the side table is
   * the training table itself (which retraining merges); it is then read as it is.
   */
  readonly mergeLanded: boolean;
  /** What the table holds, as messages name it (`outcomes`, `attributes`). */
  readonly kind: string;
  /** What waits for the table, as the message for "nothing landed" names it (`realised quality`). */
  readonly awaitedBy: string;
  /** Refuses an extract that is not of this table (throws StepError) before anything of it is merged. */
  readonly check: (loaded: LoadedManifest) => void;
}

/** One row of a side table: the key and the requested columns (as DuckDB returns them). */
export type SideRow = Readonly<Record<string, unknown>>;

/** Which rows of a side table a reader wants. */
export interface SideTableFilter {
  /** SQL over the table's columns a row must satisfy. */
  readonly where?: string;
  /**
   * The keys the reader can join (the test split's, the captured predictions'): only their rows are read, so
   * the rows a reader holds are bounded by what it joins, not by the table (millions of loans).
   */
  readonly keys?: Iterable<string>;
}

/**
 * The latest version of every key of the side table as of its last merged manifest, with `columns` (the key is
 * `k`, each column under its own name), restricted by `filter` when given. Undefined when nothing could be read;
 * `problems` says why (none landed, an extract not merged — the table merged so far is still read —, keys that
 * cannot join, a column the table lacks).
 */
export async function readSideTable(
  store: ArtifactStore,
  table: SideTable,
  columns: readonly string[],
  problems: string[],
  filter: SideTableFilter = {},
): Promise<SideRow[] | undefined> {
  const tables = new CuratedTables(store, {
    dataset: table.dataset,
    keyColumn: table.keyColumn,
    buckets: { ...table.buckets, models: '' },
  });
  return withEngine(async (engine) => {
    if (table.mergeLanded) await mergeLanded(store, tables, table, engine, problems);
    const log = await tables.current();
    if (!log || log.entries.length === 0) return undefined;
    if (table.mergeLanded) {
      const joins = await joinsTrainingTable(store, table, log);
      if (joins !== true) {
        problems.push(`${joins}: their keys do not join, no ${table.kind} read`);
        return undefined;
      }
    }
    const missing = [table.keyColumn, ...columns].filter((c) => !(c in log.schema));
    if (missing.length > 0) {
      problems.push(`the curated ${table.dataset} table has no column ${missing.join(' or ')}: no ${table.kind} read`);
      return undefined;
    }
    // Into the directory merge downloads to: the files it fetched are not fetched again.
    const files = await tables.download(log, log.entries.length, join(engine.scratch, 'table'));
    const conditions = filter.where === undefined ? [] : [`(${filter.where})`];
    if (filter.keys !== undefined) {
      await engine.createTextTable(WANTED_KEYS, filter.keys);
      conditions.push(
        `CAST(${quoteName(table.keyColumn)} AS VARCHAR) IN (SELECT value FROM ${quoteName(WANTED_KEYS)})`,
      );
    }
    return engine.rows(latestSql(log, table.keyColumn, columns, files, conditions));
  });
}

/**
 * Whether the side table's keys can join the training table's: the same key id, and the key pseudonymised in the
 * same domain (where both tables recorded one). True, or what differs.
 */
async function joinsTrainingTable(store: ArtifactStore, table: SideTable, log: TableLog): Promise<true | string> {
  const tables = new CuratedTables(store, {
    dataset: table.trainingDataset,
    keyColumn: table.keyColumn,
    buckets: { ...table.buckets, models: '' },
  });
  const kid = await tables.currentKid();
  if (kid === undefined) return true;
  if (kid !== log.kid) {
    return (
      `the ${table.dataset} table is pseudonymised under key id ${log.kid}, the ${table.trainingDataset} table ` +
      `under ${kid} (re-extract ${table.dataset} under ${kid})`
    );
  }
  const training = await tables.log(kid);
  const ours = log.pseudonyms?.[table.keyColumn];
  const theirs = training?.pseudonyms?.[training.keyColumn];
  if (ours !== undefined && theirs !== undefined && ours !== theirs) {
    return (
      `the ${table.dataset} table pseudonymises ${table.keyColumn} as ${ours}, the ${table.trainingDataset} table ` +
      `its key as ${theirs} (declare one linkAs on both keys, under a new key id)`
    );
  }
  return true;
}

/** The engine table of the keys a reader wants. */
const WANTED_KEYS = 'wanted_keys';

/**
 * The latest version of every key as of the last merged manifest (as a training set's snapshot takes it) that
 * meets every condition. A condition on the key keeps or drops all of a key's versions, so it does not change
 * which version is the latest.
 */
function latestSql(
  log: TableLog,
  keyColumn: string,
  columns: readonly string[],
  files: readonly string[],
  conditions: readonly string[],
): string {
  const selected = [keyColumn, ...columns.filter((c) => c !== keyColumn)];
  const snapshot = snapshotSql(
    parquetSource(files),
    selected,
    { keyColumn, watermarkColumn: log.watermarkColumn },
    log.entries.length,
  );
  const outputs = [`${quoteName(keyColumn)} AS k`, ...columns.map((c) => quoteName(c))];
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `SELECT ${outputs.join(', ')} FROM (${snapshot}) AS s${where}`;
}

/** Merges the side dataset's latest landed extract, and whatever landed before it that the table lacks. */
async function mergeLanded(
  store: ArtifactStore,
  tables: CuratedTables,
  table: SideTable,
  engine: Engine,
  problems: string[],
): Promise<void> {
  const bucket = s3Uri(table.buckets.landing, '');
  const prefix = landing.datasetPrefix(table.dataset);
  const manifests = (await store.list(s3Uri(table.buckets.landing, prefix)))
    .map((uri) => uri.slice(bucket.length))
    .filter((key) => landing.isManifestKey(key, table.dataset))
    .sort();
  const latest = manifests.at(-1);
  if (latest === undefined) {
    problems.push(
      `no ${table.kind} extract under ${prefix} yet: ${table.awaitedBy} waits for the agent's ${table.dataset}`,
    );
    return;
  }
  try {
    const loaded = await loadManifest(store, s3Uri(table.buckets.landing, latest));
    table.check(loaded);
    for (const earlier of await tables.missingBefore(loaded, latest)) {
      table.check(earlier);
      await tables.merge(engine, earlier, earlier.uri.slice(bucket.length));
    }
    await tables.merge(engine, loaded, latest);
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    problems.push(`${table.kind} extract ${latest} not merged: ${error.message.slice(0, 300)}`);
  }
}
