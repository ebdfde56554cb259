/**
 * Prepare: merges the validated extract into the dataset's curated table and builds the training set as of it.
 *
 * - Merge: the increment's rows become row versions of the curated table (curated/curated-table.ts).
 * - Training set: the snapshot as of the manifest (the latest version of every key among the manifests merged
 *   up to it), within the training window, mature labels only (curated/training-set-sql.ts). Its dataset
 *   version hashes the manifests, the window, the rules and the query: the same inputs give the same version
 *   and byte-identical channels (rows are ordered by key).
 * - Deterministic split by the hashed pseudonymous key (70/15/15), salted with a constant so a loan stays in
 *   the same split across dataset versions: the champion never saw the candidate's test rows in training.
 * - Fits `feature-spec.json` on the training split (categories seen there, sorted) and encodes every split
 *   with the scorer's own Vectorizer, so training and serving build identical vectors.
 * - Writes label-first, headerless CSV (`train/`, `validation/`; an empty field is a missing value), the test
 *   split as typed JSON records (each model is evaluated under its own spec), `baseline.json` for drift and
 *   `training-set.json`, the lineage: every manifest, the window, the rules, the query and the row counts.
 *
 * Size: DuckDB does the work under its memory limit, spilling to the function's ephemeral storage; rows are
 * streamed through the vectorizer chunk by chunk, and files go to and from S3 as streams.
 *
 * Engine `athena` (config `retraining.trainingSet.engine`): MergeExtract merges and plans, and registers the
 * table in the Glue catalog; QueryTrainingSet (the state machine's Athena `.sync` integration) runs the same
 * query over the Glue table inside UNLOAD; Prepare then reads the unloaded rows instead of selecting them. The
 * plan, the query and so the dataset version and the channels are the same as with DuckDB.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import {
  FEATURE_SPEC_FORMAT,
  type FeatureSpec,
  MAX_CATEGORIES,
  MAX_CATEGORY_LENGTH,
} from '../../lambdas/features/feature-spec';
import { FLOAT32_MAX } from '../../lambdas/features/vectorizer';
import { type ArtifactStore, parseS3Uri } from '../artifact-store';
import { CuratedTables } from '../curated/curated-table';
import { type Engine, quoteName, withEngine } from '../curated/duckdb-engine';
import { type Split, SPLITS, splitSql } from '../curated/split';
import {
  ATHENA_MAX_QUERY_BYTES,
  parquetSource,
  planTrainingSet,
  queryOverCatalog,
  queryOverFiles,
  TRAINING_SET_FORMAT,
  type TrainingSetLineage,
  type TrainingSetPlan,
  unloadStatement,
} from '../curated/training-set';
import { catalogTableOf, type TableCatalog } from '../curated/table-catalog';
import { SEQ_COLUMN } from '../curated/training-set-sql';
import { channelCopySql } from '../curated/channel-sql';
import { trainingBaseline } from '../curated/baseline-sql';
import { writeLines } from '../curated/line-writer';
import { type LoadedManifest, loadManifest } from '../extract-manifest';
import { trainingJobName } from '../../contracts/resource-names';
import { curated, models, s3Uri } from '../../contracts/s3-layout';
import { encodeTestRecords } from '../../contracts/test-records';
import { StepError } from '../step-error';
import type { RetrainingSettings } from '../retraining-settings';
import type { StepDependencies, ValidatedExtract } from './validate-manifest';

/** Input of the step: the validated extract and the execution's name (for the training job's name). */
export interface PrepareInput {
  readonly validation: ValidatedExtract;
  readonly executionName: string;
  /**
   * With the Athena engine: what MergeExtract merged and planned, once QueryTrainingSet has unloaded the
   * training set. Without it Prepare merges and selects the training set itself, with DuckDB.
   */
  readonly merged?: MergedExtract;
}

/** What MergeExtract did (engine `athena`): the merged table, the plan, and the statement Athena runs. */
export interface MergedExtract {
  readonly kid: string;
  /** The training set is as of the `seq`th manifest of the table. */
  readonly seq: number;
  readonly datasetVersion: string;
  /** Keys in the snapshot (counted at the merge, which holds the table's files). */
  readonly snapshotRows: number;
  /** The UNLOAD statement QueryTrainingSet runs in the workgroup, and the empty prefix it writes to. */
  readonly queryString: string;
  readonly unloadUri: string;
  /**
   * StartQueryExecution's idempotency token (SHA-256 hex of the execution and the statement): a retried start
   * Athena had accepted names the same query.
   */
  readonly clientRequestToken: string;
}

/** Where Prepare put everything, and the training job's name. */
export interface PreparedData {
  /** The training set's version: a hash of its manifests, window, rules and query. */
  readonly datasetVersion: string;
  /** The data's date the training set was built as of, and how many manifests it spans. */
  readonly asOf: string;
  readonly manifests: number;
  /** Its lineage document (training-set.json). */
  readonly trainingSetUri: string;
  readonly trainingJobName: string;
  readonly trainUri: string;
  readonly validationUri: string;
  readonly testRecordsUri: string;
  readonly featureSpecUri: string;
  readonly baselineUri: string;
  /** Prefix SageMaker writes `<job>/output/model.tar.gz` under. */
  readonly outputPath: string;
  readonly rows: Readonly<Record<Split, number>>;
  readonly positives: Readonly<Record<Split, number>>;
}

/** A typed record: numbers for numeric features, strings for categories, null when missing. */
type FeatureRecord = Record<string, number | string | null>;

/** Dependencies of Prepare and MergeExtract: MergeExtract registers the table in the catalog. */
export interface PrepareDependencies extends StepDependencies {
  readonly catalog?: TableCatalog;
}

/** A short, stable suffix of an execution's name, for the names it gives things. */
const executionSuffix = (executionName: string, length: number) =>
  createHash('sha256').update(executionName).digest('hex').slice(0, length);

/** The validated manifest, refused if it changed since validation. */
async function validatedManifest(store: ArtifactStore, validation: ValidatedExtract): Promise<LoadedManifest> {
  const loaded = await loadManifest(store, validation.manifestUri);
  if (loaded.datasetVersion !== validation.manifestSha256) {
    throw new StepError('ManifestInvalid', 'the manifest changed after validation');
  }
  return loaded;
}

/**
 * Merges the validated extract (and whatever must come before it) into the curated table and plans the training
 * set as of it; returns the log, the plan and the table's files in the engine's scratch directory.
 */
async function mergeAndPlan(engine: Engine, { store, settings }: StepDependencies, validation: ValidatedExtract) {
  const loaded = await validatedManifest(store, validation);
  const manifestKey = parseS3Uri(validation.manifestUri).key;
  const tables = new CuratedTables(store, settings);
  for (const earlier of await tables.missingBefore(loaded, manifestKey)) {
    await tables.merge(engine, earlier, parseS3Uri(earlier.uri).key);
  }
  const { log, entry, files } = await tables.merge(engine, loaded, manifestKey);
  return { log, plan: planTrainingSet(settings, log, entry.seq), files };
}

/** Keys in the snapshot: one per key among the row versions it spans (no need to rank them to count). */
async function snapshotKeys(engine: Engine, keyColumn: string, plan: TrainingSetPlan, files: readonly string[]) {
  const [{ keys }] = await engine.rows(
    `SELECT COUNT(DISTINCT ${quoteName(keyColumn)}) AS keys FROM ${parquetSource(files)} ` +
      `WHERE ${quoteName(SEQ_COLUMN)} <= ${plan.seq}`,
  );
  return Number(keys);
}

/** Where Athena unloads the training set of `datasetVersion` for an execution (an empty prefix of its own). */
export const unloadUriOf = (settings: RetrainingSettings, datasetVersion: string, executionName: string) =>
  s3Uri(
    settings.buckets.curated,
    curated.athenaUnloadPrefix(settings.dataset, datasetVersion, executionSuffix(executionName, 16)),
  );

/**
 * MergeExtract (engine `athena`): merges the extract as Prepare does, registers the curated table in the Glue
 * catalog, and plans the training set for Athena: the same query over the Glue table, inside UNLOAD.
 */
export function mergeExtractStep(deps: PrepareDependencies) {
  const { settings, catalog } = deps;
  return async ({ validation, executionName }: PrepareInput): Promise<MergedExtract> => {
    if (!catalog) throw new Error('MergeExtract needs the table catalog (the Athena engine)');
    return withEngine(async (engine) => {
      const { log, plan, files } = await mergeAndPlan(engine, deps, validation);
      const table = catalogTableOf(settings, log);
      await catalog.register(table);
      const unloadUri = unloadUriOf(settings, plan.datasetVersion, executionName);
      const queryString = unloadStatement(queryOverCatalog(plan, table), unloadUri);
      const bytes = Buffer.byteLength(queryString);
      if (bytes > ATHENA_MAX_QUERY_BYTES) {
        throw new Error(
          `the Athena statement of the training set as of manifest ${plan.seq} is ${bytes} bytes, over ` +
            `Athena's ${ATHENA_MAX_QUERY_BYTES}: the table's files are listed in it, too many to list`,
        );
      }
      return {
        kid: log.kid,
        seq: plan.seq,
        datasetVersion: plan.datasetVersion,
        snapshotRows: await snapshotKeys(engine, settings.keyColumn, plan, files),
        queryString,
        unloadUri,
        clientRequestToken: createHash('sha256')
          .update(JSON.stringify([executionName, queryString]))
          .digest('hex'),
      };
    });
  };
}

/** Builds the step's handler. */
export function prepareStep(deps: PrepareDependencies) {
  const { store, settings } = deps;
  return async ({ validation, executionName, merged }: PrepareInput): Promise<PreparedData> =>
    withEngine(async (engine) => {
      if (!merged) {
        const { log, plan, files } = await mergeAndPlan(engine, deps, validation);
        const snapshotRows = await snapshotKeys(engine, settings.keyColumn, plan, files);
        return channels(engine, deps, { kid: log.kid, plan, snapshotRows, executionName }, queryOverFiles(plan, files));
      }
      // Athena selected the training set: the plan again from the table's log, which must not have moved.
      await validatedManifest(store, validation);
      const log = await new CuratedTables(store, settings).log(merged.kid);
      const plan = log && log.entries.length >= merged.seq ? planTrainingSet(settings, log, merged.seq) : undefined;
      if (plan?.datasetVersion !== merged.datasetVersion) {
        throw new StepError('ManifestInvalid', 'the curated table changed between MergeExtract and Prepare');
      }
      // Only the prefix MergeExtract named for this version and execution is read.
      if (merged.unloadUri !== unloadUriOf(settings, plan.datasetVersion, executionName)) {
        throw new StepError('ManifestInvalid', "the unloaded training set is not under this execution's prefix");
      }
      const files = await downloadUnloaded(engine, store, merged.unloadUri);
      if (files.length === 0) {
        throw new StepError('EmptySplit', `the training set as of ${plan.asOf} (${plan.seq} manifest(s)) has no rows`);
      }
      const key = quoteName(settings.keyColumn);
      const [{ rows, keys }] = await engine.rows(
        `SELECT COUNT(*) AS rows, COUNT(DISTINCT ${key}) AS keys FROM ${parquetSource(files)}`,
      );
      if (Number(rows) !== Number(keys)) {
        throw new StepError(
          'ManifestInvalid',
          `the unloaded training set holds ${Number(rows) - Number(keys)} row(s) more than keys: a snapshot has one row per key`,
        );
      }
      const context = { kid: merged.kid, plan, snapshotRows: merged.snapshotRows, executionName };
      return channels(engine, deps, context, `SELECT * FROM ${parquetSource(files)}`);
    });
}

/** Downloads what Athena unloaded under `uri` into the engine's scratch directory; returns the files' paths. */
async function downloadUnloaded(engine: Engine, store: ArtifactStore, uri: string): Promise<string[]> {
  const dir = join(engine.scratch, 'unloaded');
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const [i, object] of (await store.list(uri)).sort().entries()) {
    const path = join(dir, `${String(i).padStart(5, '0')}.parquet`);
    await store.download(object, path);
    paths.push(path);
  }
  return paths;
}

/**
 * From the training set's rows (`rowsSql`: key, label and features) to everything Prepare writes: the split,
 * the feature spec, the channels, the baseline and the lineage.
 */
async function channels(
  engine: Engine,
  { store, settings }: StepDependencies,
  context: { kid: string; plan: TrainingSetPlan; snapshotRows: number; executionName: string },
  rowsSql: string,
): Promise<PreparedData> {
  const { plan } = context;
  const { asOf, datasetVersion } = plan;
  const { rows, positives } = await buildTrainingTable(engine, settings, plan, rowsSql);
  const categoryCounts: Record<string, Record<string, number>> = {};
  for (const name of settings.categoricalFeatures) categoryCounts[name] = await fitCategories(engine, name);
  const spec: FeatureSpec = {
    format: FEATURE_SPEC_FORMAT,
    label: settings.label,
    features: [
      ...settings.numericFeatures.map((name) => ({ name, type: 'numeric' as const })),
      ...settings.categoricalFeatures.map((name) => ({
        name,
        type: 'categorical' as const,
        encoding: 'one-hot' as const,
        categories: Object.keys(categoryCounts[name]).sort(),
      })),
    ],
    ...(settings.explanations ? { explanations: settings.explanations } : {}),
  };
  const keys = curated.keys(settings.dataset, datasetVersion);
  const uriOf = (key: string) => s3Uri(settings.buckets.curated, key);
  const encoded = await encodeSplits(engine, settings, spec);
  await store.upload(uriOf(keys.train), encoded.train);
  await store.upload(uriOf(keys.validation), encoded.validation);
  await store.upload(uriOf(keys.testRecords), encoded.test);
  await store.put(uriOf(keys.featureSpec), `${JSON.stringify(spec, null, 2)}\n`);
  const drift = await trainingBaseline(engine, spec, rows.train, categoryCounts, datasetVersion);
  await store.put(uriOf(keys.baseline), `${JSON.stringify(drift, null, 2)}\n`);
  const lineage = lineageOf(settings, context.kid, plan, context.snapshotRows, rows, positives);
  await store.put(uriOf(keys.trainingSet), `${JSON.stringify(lineage, null, 2)}\n`);
  return {
    datasetVersion,
    asOf,
    manifests: plan.entries.length,
    trainingSetUri: uriOf(keys.trainingSet),
    trainingJobName: trainingJobName(settings.envName, settings.dataset, executionSuffix(context.executionName, 10)),
    trainUri: uriOf(keys.trainPrefix),
    validationUri: uriOf(keys.validationPrefix),
    testRecordsUri: uriOf(keys.testRecords),
    featureSpecUri: uriOf(keys.featureSpec),
    baselineUri: uriOf(keys.baseline),
    outputPath: s3Uri(settings.buckets.models, models.trainingPrefix(settings.dataset)),
    rows,
    positives,
  };
}

/**
 * The training set (`rowsSql`) in the engine's `training` table (key, label, features as DOUBLE or VARCHAR, split),
 * stored in key order (the order its channels and records are written in), checked:
 * labels 0 or 1, every split non-empty and holding both classes. Returns rows and positives per split.
 */
async function buildTrainingTable(
  engine: Engine,
  settings: RetrainingSettings,
  plan: TrainingSetPlan,
  rowsSql: string,
): Promise<{ rows: Record<Split, number>; positives: Record<Split, number> }> {
  const label = quoteName(settings.label);
  const columns = [
    quoteName(settings.keyColumn),
    label,
    ...settings.numericFeatures.map((c) => `CAST(${quoteName(c)} AS DOUBLE) AS ${quoteName(c)}`),
    ...settings.categoricalFeatures.map((c) => `NULLIF(CAST(${quoteName(c)} AS VARCHAR), '') AS ${quoteName(c)}`),
  ];
  await engine.run(
    `CREATE TABLE training AS SELECT ${columns.join(', ')}, ${splitSql(settings.keyColumn)} AS split ` +
      `FROM (${rowsSql}) AS t ORDER BY ${quoteName(settings.keyColumn)}`,
  );
  const [{ invalid }] = await engine.rows(`SELECT COUNT(*) AS invalid FROM training WHERE ${label} NOT IN (0, 1)`);
  if (Number(invalid) > 0) {
    throw new StepError('LabelInvalid', `${settings.label} is not 0 or 1 in ${invalid} row(s) of the training set`);
  }
  // The model compares in float32: a value beyond its range has no float32 to be (the scorer refuses it too).
  if (settings.numericFeatures.length > 0) {
    const [beyond] = await engine.rows(
      `SELECT ${settings.numericFeatures
        .map((c) => `COUNT(*) FILTER (WHERE abs(${quoteName(c)}) > ${FLOAT32_MAX}) AS ${quoteName(c)}`)
        .join(', ')} FROM training`,
    );
    const wide = settings.numericFeatures.filter((c) => Number(beyond[c]) > 0);
    if (wide.length > 0) {
      throw new StepError(
        'SchemaMismatch',
        wide.map((c) => `${c}: ${beyond[c]} value(s) beyond the float32 range the model compares in`).join('; '),
      );
    }
  }
  const counts = await engine.rows(
    `SELECT split, COUNT(*) AS n, SUM(CAST(${label} AS BIGINT)) AS p FROM training GROUP BY split`,
  );
  const rows = Object.fromEntries(SPLITS.map((s) => [s, 0])) as Record<Split, number>;
  const positives = { ...rows };
  for (const c of counts) {
    rows[c.split as Split] = Number(c.n);
    positives[c.split as Split] = Number(c.p);
  }
  const total = rows.train + rows.validation + rows.test;
  for (const split of SPLITS) {
    if (rows[split] === 0) {
      throw new StepError(
        'EmptySplit',
        `the ${split} split is empty (${total} rows in the training set as of ${plan.asOf}, ${plan.seq} manifest(s))`,
      );
    }
  }
  for (const split of SPLITS) {
    if (positives[split] === 0 || positives[split] === rows[split]) {
      throw new StepError(
        'SingleClassLabel',
        `${settings.label} has a single class in the ${split} split (${positives[split]} of ${rows[split]} positive)`,
      );
    }
  }
  return { rows, positives };
}

/**
 * Encodes the splits into files of the engine's scratch directory, rows ordered by key: train and validation as
 * label-first CSV of the scorer's vectorizer's rows under `spec`, test as typed JSON records.
 */
async function encodeSplits(
  engine: Engine,
  settings: RetrainingSettings,
  spec: FeatureSpec,
): Promise<Record<Split, string>> {
  const features = [...settings.numericFeatures, ...settings.categoricalFeatures];
  const ordered = (split: Split) =>
    `SELECT ${[settings.label, ...features, settings.keyColumn].map(quoteName).join(', ')} FROM training WHERE split = '${split}'`;
  // One record reused for every row: the vectorizer reads it and keeps nothing.
  const record: FeatureRecord = {};
  const fillRecord = (columns: readonly DuckDBValue[][], r: number) => {
    for (let i = 0; i < features.length; i++) record[features[i]] = columns[i + 1][r] as number | string | null;
    return record;
  };
  const paths = {
    train: join(engine.scratch, 'train.csv'),
    validation: join(engine.scratch, 'validation.csv'),
    test: join(engine.scratch, 'records.jsonl'),
  };
  // The channels DuckDB writes itself, each line the Vectorizer's row of the record (channel-sql.ts).
  for (const split of ['train', 'validation'] as const) {
    const rows = `(SELECT * FROM training WHERE split = '${split}')`;
    await engine.run(channelCopySql(spec, settings.label, rows, paths[split]));
  }
  await writeLines(paths.test, (emit) =>
    engine.forEachChunk(ordered('test'), (columns, rowCount) => {
      for (let r = 0; r < rowCount; r++) {
        const key = columns[features.length + 1][r];
        const line = encodeTestRecords([
          {
            label: Number(columns[0][r]),
            record: fillRecord(columns, r),
            ...(key === null ? {} : { key: String(key) }),
          },
        ]);
        emit(line.slice(0, -1));
      }
    }),
  );
  return paths;
}

/** The lineage document of a training set. */
function lineageOf(
  settings: RetrainingSettings,
  kid: string,
  plan: TrainingSetPlan,
  snapshotRows: number,
  rows: Record<Split, number>,
  positives: Record<Split, number>,
): TrainingSetLineage {
  return {
    format: TRAINING_SET_FORMAT,
    dataset: settings.dataset,
    datasetVersion: plan.datasetVersion,
    kid,
    asOf: plan.asOf,
    window: { ...plan.rules.window, from: plan.bounds.from },
    maturity: { labelKnown: true, minAgeMonths: plan.rules.maturity.minAgeMonths, matureBy: plan.bounds.matureBy },
    query: plan.query,
    manifests: plan.entries.map(({ seq, manifestKey, manifestSha256, runId, asOf, rows: carried, added }) => ({
      seq,
      manifestKey,
      manifestSha256,
      runId,
      asOf,
      rows: carried,
      added,
    })),
    snapshotRows,
    rows,
    positives,
  };
}

/**
 * Categories of a feature in the training split with their counts, within what a feature spec may hold: a
 * spec beyond it would be written here and refused by every reader, Evaluate first. Errors name the feature
 * and the counts, never a value.
 */
async function fitCategories(engine: Engine, name: string): Promise<Record<string, number>> {
  const c = quoteName(name);
  const [{ distinct, long }] = await engine.rows(
    `SELECT COUNT(DISTINCT ${c}) AS "distinct", SUM(CASE WHEN LENGTH(${c}) > ${MAX_CATEGORY_LENGTH} THEN 1 ELSE 0 END) AS long ` +
      `FROM training WHERE split = 'train'`,
  );
  const counts: Record<string, number> = {};
  let tooLong = Number(long ?? 0);
  if (tooLong === 0 && Number(distinct) <= MAX_CATEGORIES) {
    for (const row of await engine.rows(
      `SELECT ${c} AS v, COUNT(*) AS n FROM training WHERE split = 'train' AND ${c} IS NOT NULL GROUP BY ${c}`,
    )) {
      const value = row.v as string;
      if (value.length > MAX_CATEGORY_LENGTH) tooLong += Number(row.n); // UTF-16 length, as the spec's parser counts
      counts[value] = Number(row.n);
    }
  }
  if (Number(distinct) === 0) throw new StepError('SchemaMismatch', `${name} has no values in the training split`);
  if (tooLong > 0) {
    throw new StepError(
      'SchemaMismatch',
      `${name}: ${tooLong} row(s) of the training split hold a category longer than ${MAX_CATEGORY_LENGTH} characters; ` +
        'generalise or drop the column in the agent policy',
    );
  }
  if (Number(distinct) > MAX_CATEGORIES) {
    throw new StepError(
      'SchemaMismatch',
      `${name} has ${distinct} categories in the training split, more than the ${MAX_CATEGORIES} a feature spec holds; ` +
        'generalise it in the agent policy, or make it numeric',
    );
  }
  return counts;
}
