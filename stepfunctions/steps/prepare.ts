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
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import {
  FEATURE_SPEC_FORMAT,
  type FeatureSpec,
  MAX_CATEGORIES,
  MAX_CATEGORY_LENGTH,
} from '../../lambdas/features/feature-spec';
import { Vectorizer } from '../../lambdas/features/vectorizer';
import { parseS3Uri } from '../artifact-store';
import { CuratedTables } from '../curated/curated-table';
import { type Engine, quoteName, withEngine } from '../curated/duckdb-engine';
import { type Split, SPLITS, splitSql } from '../curated/split';
import {
  parquetSource,
  planTrainingSet,
  queryOverFiles,
  TRAINING_SET_FORMAT,
  type TrainingSetLineage,
  type TrainingSetPlan,
} from '../curated/training-set';
import { SEQ_COLUMN } from '../curated/training-set-sql';
import { loadManifest } from '../extract-manifest';
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

/** Builds the step's handler. */
export function prepareStep({ store, settings }: StepDependencies) {
  return async ({ validation, executionName }: PrepareInput): Promise<PreparedData> => {
    const loaded = await loadManifest(store, validation.manifestUri);
    if (loaded.datasetVersion !== validation.manifestSha256) {
      throw new StepError('ManifestInvalid', 'the manifest changed after validation');
    }
    const manifestKey = parseS3Uri(validation.manifestUri).key;
    return withEngine(async (engine) => {
      const tables = new CuratedTables(store, settings);
      for (const earlier of await tables.missingBefore(loaded, manifestKey)) {
        await tables.merge(engine, earlier, parseS3Uri(earlier.uri).key);
      }
      const { log, entry, files } = await tables.merge(engine, loaded, manifestKey);
      const plan = planTrainingSet(settings, log, entry.seq);
      const { asOf, datasetVersion } = plan;
      const { rows, positives } = await buildTrainingTable(engine, settings, plan, files);
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
      };
      const keys = curated.keys(settings.dataset, datasetVersion);
      const uriOf = (key: string) => s3Uri(settings.buckets.curated, key);
      const encoded = await encodeSplits(engine, settings, new Vectorizer(spec));
      await store.upload(uriOf(keys.train), encoded.train);
      await store.upload(uriOf(keys.validation), encoded.validation);
      await store.upload(uriOf(keys.testRecords), encoded.test);
      await store.put(uriOf(keys.featureSpec), `${JSON.stringify(spec, null, 2)}\n`);
      const drift = await baseline(engine, spec, rows.train, categoryCounts);
      await store.put(uriOf(keys.baseline), `${JSON.stringify(drift, null, 2)}\n`);
      // Keys in the snapshot: one per key among the row versions it spans (no need to rank them to count).
      const [{ keys: snapshotRows }] = await engine.rows(
        `SELECT COUNT(DISTINCT ${quoteName(settings.keyColumn)}) AS keys FROM ${parquetSource(files)} ` +
          `WHERE ${quoteName(SEQ_COLUMN)} <= ${plan.seq}`,
      );
      const lineage = lineageOf(settings, log.kid, plan, Number(snapshotRows), rows, positives);
      await store.put(uriOf(keys.trainingSet), `${JSON.stringify(lineage, null, 2)}\n`);

      const suffix = createHash('sha256').update(executionName).digest('hex').slice(0, 10);
      return {
        datasetVersion,
        asOf,
        manifests: plan.entries.length,
        trainingSetUri: uriOf(keys.trainingSet),
        trainingJobName: trainingJobName(settings.envName, settings.dataset, suffix),
        trainUri: uriOf(keys.trainPrefix),
        validationUri: uriOf(keys.validationPrefix),
        testRecordsUri: uriOf(keys.testRecords),
        featureSpecUri: uriOf(keys.featureSpec),
        baselineUri: uriOf(keys.baseline),
        outputPath: s3Uri(settings.buckets.models, models.trainingPrefix(settings.dataset)),
        rows,
        positives,
      };
    });
  };
}

/**
 * The training set in the engine's `training` table (key, label, features as DOUBLE or VARCHAR, split), checked:
 * labels 0 or 1, every split non-empty and holding both classes. Returns rows and positives per split.
 */
async function buildTrainingTable(
  engine: Engine,
  settings: RetrainingSettings,
  plan: TrainingSetPlan,
  files: readonly string[],
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
      `FROM (${queryOverFiles(plan, files)}) AS t`,
  );
  const [{ invalid }] = await engine.rows(`SELECT COUNT(*) AS invalid FROM training WHERE ${label} NOT IN (0, 1)`);
  if (Number(invalid) > 0) {
    throw new StepError('LabelInvalid', `${settings.label} is not 0 or 1 in ${invalid} row(s) of the training set`);
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
 * Encodes the splits into files of the engine's scratch directory, rows ordered by key, streamed chunk by chunk
 * through the scorer's vectorizer: train and validation as label-first CSV, test as typed JSON records.
 */
async function encodeSplits(
  engine: Engine,
  settings: RetrainingSettings,
  vectorizer: Vectorizer,
): Promise<Record<Split, string>> {
  const features = [...settings.numericFeatures, ...settings.categoricalFeatures];
  const ordered = (split: Split) =>
    `SELECT ${[settings.label, ...features].map(quoteName).join(', ')} FROM training ` +
    `WHERE split = '${split}' ORDER BY ${quoteName(settings.keyColumn)}`;
  const recordOf = (row: readonly DuckDBValue[]): FeatureRecord => {
    const record: FeatureRecord = {};
    features.forEach((name, i) => (record[name] = row[i + 1] as number | string | null));
    return record;
  };
  const paths = {
    train: join(engine.scratch, 'train.csv'),
    validation: join(engine.scratch, 'validation.csv'),
    test: join(engine.scratch, 'records.jsonl'),
  };
  for (const split of ['train', 'validation'] as const) {
    const row = new Float32Array(vectorizer.width);
    await writeLines(paths[split], (emit) =>
      engine.forEachRow(ordered(split), (values) => {
        vectorizer.fill(recordOf(values), 0, row, 0);
        let line = String(Number(values[0]));
        for (let j = 0; j < row.length; j++) line += Number.isNaN(row[j]) ? ',' : `,${row[j]}`;
        emit(line);
      }),
    );
  }
  await writeLines(paths.test, (emit) =>
    engine.forEachRow(ordered('test'), (values) =>
      emit(encodeTestRecords([{ label: Number(values[0]), record: recordOf(values) }]).slice(0, -1)),
    ),
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

/** Writes the lines `produce` emits to a file, buffered, each ending in a newline. */
async function writeLines(path: string, produce: (emit: (line: string) => void) => Promise<unknown>): Promise<void> {
  const fd = openSync(path, 'w');
  try {
    let buffer = '';
    await produce((line) => {
      buffer += `${line}\n`;
      if (buffer.length >= 1 << 20) {
        writeSync(fd, buffer);
        buffer = '';
      }
    });
    if (buffer.length > 0) writeSync(fd, buffer);
  } finally {
    closeSync(fd);
  }
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

/**
 * Drift baseline of the training split: per numeric feature the decile edges (the values at positions
 * floor(d * n / 10) of the sorted non-missing values, repeats removed) and the count of values in each bin
 * (bin b holds values at or above edge b-1 and below edge b); category counts; missing counts.
 */
async function baseline(
  engine: Engine,
  spec: FeatureSpec,
  rows: number,
  categoryCounts: Readonly<Record<string, Record<string, number>>>,
) {
  // Every feature's count of present values, in one scan.
  const [present] = await engine.rows(
    `SELECT ${spec.features.map((f) => `COUNT(${quoteName(f.name)}) AS ${quoteName(f.name)}`).join(', ')} ` +
      `FROM training WHERE split = 'train'`,
  );
  const features = [];
  for (const feature of spec.features) {
    const c = quoteName(feature.name);
    const n = Number(present[feature.name]);
    const missing = rows - n;
    if (feature.type !== 'numeric') {
      const counts = Object.fromEntries(
        Object.entries(categoryCounts[feature.name]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
      features.push({ name: feature.name, type: feature.type, counts, missing });
      continue;
    }
    const positions = n === 0 ? [] : [1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => Math.floor((d / 10) * n));
    const at =
      positions.length === 0
        ? []
        : await engine.rows(
            `SELECT v FROM (SELECT ${c} AS v, ROW_NUMBER() OVER (ORDER BY ${c}) - 1 AS i FROM training ` +
              `WHERE split = 'train' AND ${c} IS NOT NULL) AS s WHERE i IN (${[...new Set(positions)].join(', ')}) ORDER BY i`,
          );
    const edges = [...new Set(at.map((r) => Number(r.v)))];
    const bin =
      edges.length === 0
        ? '0'
        : edges.map((e) => `CASE WHEN ${c} >= CAST(${String(e)} AS DOUBLE) THEN 1 ELSE 0 END`).join(' + ');
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const r of await engine.rows(
      `SELECT ${bin} AS b, COUNT(*) AS n FROM training WHERE split = 'train' AND ${c} IS NOT NULL GROUP BY 1`,
    )) {
      counts[Number(r.b)] = Number(r.n);
    }
    features.push({ name: feature.name, type: feature.type, edges, counts, missing });
  }
  return { format: 'mlp.drift-baseline/1', rows, features };
}
