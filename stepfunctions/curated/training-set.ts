/**
 * What a training set as of a merged manifest is, before any row is read: the manifests it spans, its as-of
 * date, its rules, its query and its dataset version. Prepare builds the set from it; `mlp dataset` shows and
 * exports it. The version hashes everything the rows depend on, so equal versions mean equal channels.
 */
import { createHash } from 'node:crypto';
import { FEATURE_SPEC_FORMAT } from '../../lambdas/features/feature-spec';
import { parseS3Uri } from '../artifact-store';
import type { RetrainingSettings } from '../retraining-settings';
import { TABLE_FORMAT, type TableEntry, type TableLog } from './curated-table';
import { quoteName, quoteText } from './duckdb-engine';
import { type CatalogTable, catalogSource } from './table-catalog';
import { type Split, SPLIT_SALT } from './split';
import { type TrainingSetRules, trainingSetSql, windowBounds } from './training-set-sql';

/** Identifier of the training-set lineage format, part of every dataset version. */
export const TRAINING_SET_FORMAT = 'mlp.training-set/1';

/** The source name a training set's query is versioned under (engines read the Parquet files in its place). */
const LOGICAL_SOURCE = quoteName('curated');

/** The lineage of a training set (`training-set.json` beside its channels), as Prepare writes it. */
export interface TrainingSetLineage {
  readonly format: typeof TRAINING_SET_FORMAT;
  readonly dataset: string;
  readonly datasetVersion: string;
  readonly kid: string;
  /** The data's date the window and maturity are measured from. */
  readonly asOf: string;
  readonly window: { readonly column: string; readonly months: number; readonly from: string };
  readonly maturity: { readonly labelKnown: true; readonly minAgeMonths: number; readonly matureBy: string };
  /** The query over the curated table (`"curated"`), as DuckDB and Athena run it. */
  readonly query: string;
  /** Every manifest merged into the table up to the triggering one, in order. */
  readonly manifests: readonly Pick<
    TableEntry,
    'seq' | 'manifestKey' | 'manifestSha256' | 'runId' | 'asOf' | 'rows' | 'added'
  >[];
  /** Keys in the snapshot, and rows of the training set by split. */
  readonly snapshotRows: number;
  readonly rows: Readonly<Record<Split, number>>;
  readonly positives: Readonly<Record<Split, number>>;
}

/** A training set as of the `seq`th merged manifest. */
export interface TrainingSetPlan {
  readonly seq: number;
  readonly entries: readonly TableEntry[];
  /** The latest data date among its manifests: the window and maturity are measured from it. */
  readonly asOf: string;
  readonly rules: TrainingSetRules;
  /** The table's columns, in order. */
  readonly columns: readonly string[];
  /** The query over the logical table `"curated"`. */
  readonly query: string;
  readonly bounds: { readonly from: string; readonly matureBy: string };
  readonly datasetVersion: string;
}

/** The plan of the training set as of entry `seq` of `log` (1-based), under `settings`. */
export function planTrainingSet(
  settings: Pick<
    RetrainingSettings,
    'dataset' | 'keyColumn' | 'label' | 'numericFeatures' | 'categoricalFeatures' | 'trainingSet'
  >,
  log: TableLog,
  seq: number,
): TrainingSetPlan {
  const entries = log.entries.slice(0, seq);
  if (entries.length !== seq || seq < 1) throw new Error(`the table has no manifest ${seq}`);
  const asOf = entries.map((e) => e.asOf).reduce((a, b) => (a > b ? a : b));
  const rules: TrainingSetRules = {
    keyColumn: settings.keyColumn,
    watermarkColumn: log.watermarkColumn,
    label: settings.label,
    features: [...settings.numericFeatures, ...settings.categoricalFeatures],
    window: settings.trainingSet.window,
    maturity: settings.trainingSet.maturity,
  };
  const columns = Object.keys(log.schema);
  const query = trainingSetSql(LOGICAL_SOURCE, columns, rules, seq, asOf);
  const version = {
    format: TRAINING_SET_FORMAT,
    dataset: settings.dataset,
    kid: log.kid,
    manifests: entries.map((e) => e.manifestSha256),
    asOf,
    window: rules.window,
    maturity: rules.maturity,
    query,
    // What else the channels depend on: which columns are numeric and which categorical (the query lists them
    // in one list), the key and label, the table and split formats and the feature spec's format.
    keyColumn: settings.keyColumn,
    label: settings.label,
    numericFeatures: settings.numericFeatures,
    categoricalFeatures: settings.categoricalFeatures,
    table: TABLE_FORMAT,
    splitSalt: SPLIT_SALT,
    featureSpec: FEATURE_SPEC_FORMAT,
  };
  const datasetVersion = createHash('sha256').update(JSON.stringify(version)).digest('hex');
  return { seq, entries, asOf, rules, columns, query, bounds: windowBounds(rules, asOf), datasetVersion };
}

/** The query of a plan over local Parquet files (DuckDB). */
export function queryOverFiles(plan: TrainingSetPlan, files: readonly string[]): string {
  return trainingSetSql(parquetSource(files), plan.columns, plan.rules, plan.seq, plan.asOf);
}

/** DuckDB's source over Parquet files. */
export function parquetSource(files: readonly string[]): string {
  return `read_parquet([${files.map(quoteText).join(', ')}])`;
}

/** The longest statement Athena's StartQueryExecution accepts (`QueryString`, bytes). */
export const ATHENA_MAX_QUERY_BYTES = 262_144;

/**
 * The query of a plan over the Glue table of its curated table (Athena). Athena reads every object under the
 * table's location, DuckDB only the files the log lists: so that both read the same row versions, the table is
 * read only from the plan's files, by the name Athena's `"$path"` column gives each (a file an interrupted merge
 * left behind is never read). The file names are relative to the location to keep the statement short.
 */
export function queryOverCatalog(
  plan: TrainingSetPlan,
  table: Pick<CatalogTable, 'database' | 'name' | 'location'>,
): string {
  const { key } = parseS3Uri(table.location);
  const names = plan.entries.map((e) => {
    if (!e.file.startsWith(key)) throw new Error(`manifest ${e.seq}'s table file is not under ${table.location}`);
    return quoteText(e.file.slice(key.length));
  });
  const logged =
    `(SELECT * FROM ${catalogSource(table)} WHERE SUBSTR("$path", ${table.location.length + 1}) ` +
    `IN (${names.join(', ')})) AS "logged"`;
  return trainingSetSql(logged, plan.columns, plan.rules, plan.seq, plan.asOf);
}

/**
 * The Athena statement that writes a training set's rows to `uri` (an empty prefix) as Parquet: the query
 * unchanged inside UNLOAD, whose output keeps the query's column names and types.
 */
export function unloadStatement(query: string, uri: string): string {
  return `UNLOAD (${query}) TO ${quoteText(uri)} WITH (format = 'PARQUET', compression = 'SNAPPY')`;
}
