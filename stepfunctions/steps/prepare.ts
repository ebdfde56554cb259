/**
 * Prepare: turns a validated extract into SageMaker's training channels.
 *
 * - Deterministic split by the hashed pseudonymous key (70/15/15), salted with a constant so a loan stays in
 *   the same split across dataset versions: the champion never saw the candidate's test rows in training.
 * - Fits `feature-spec.json` on the training split (categories seen there, sorted) and encodes every split
 *   with the scorer's own Vectorizer, so training and serving build identical vectors.
 * - Writes label-first, headerless CSV (`train/`, `validation/`; an empty field is a missing value), the test
 *   split as typed JSON records (each model is evaluated under its own spec), and `baseline.json` for drift.
 *
 * Size: the step holds the extract in memory (1.4 GB measured at 350,000 loan rows of this width), which its
 * 4,096 MB Lambda fits up to about a million rows. Beyond that, the same module is meant to run as a SageMaker
 * Processing job.
 */
import { createHash } from 'node:crypto';
import {
  FEATURE_SPEC_FORMAT,
  type FeatureSpec,
  MAX_CATEGORIES,
  MAX_CATEGORY_LENGTH,
} from '../../lambdas/features/feature-spec';
import { Vectorizer } from '../../lambdas/features/vectorizer';
import { loadManifest, readPart } from '../extract-manifest';
import { trainingJobName } from '../../contracts/resource-names';
import { curated, models, s3Uri } from '../../contracts/s3-layout';
import { encodeTestRecords } from '../../contracts/test-records';
import { StepError } from '../step-error';
import type { StepDependencies, ValidatedExtract } from './validate-manifest';

/** Split salt: changing it reshuffles every split, so it is versioned. */
export const SPLIT_SALT = 'mlp-split/v1';
const SPLITS = ['train', 'validation', 'test'] as const;
type Split = (typeof SPLITS)[number];

/** Input of the step: the validated extract and the execution's name (for the training job's name). */
export interface PrepareInput {
  readonly validation: ValidatedExtract;
  readonly executionName: string;
}

/** Where Prepare put everything, and the training job's name. */
export interface PreparedData {
  readonly datasetVersion: string;
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

/** Which split a pseudonymous key falls in. */
export function splitOf(key: string): Split {
  const h = createHash('sha256').update(`${SPLIT_SALT}\0${key}`).digest().readUInt32BE(0) / 2 ** 32;
  return h < 0.7 ? 'train' : h < 0.85 ? 'validation' : 'test';
}

/** Builds the step's handler. */
export function prepareStep({ store, settings }: StepDependencies) {
  return async ({ validation, executionName }: PrepareInput): Promise<PreparedData> => {
    const { manifest, datasetVersion } = await loadManifest(store, validation.manifestUri);
    if (datasetVersion !== validation.datasetVersion) {
      throw new StepError('ManifestInvalid', 'the manifest changed after validation');
    }
    const columns = Object.keys(manifest.schema);
    const at = (name: string) => columns.indexOf(name);
    const keyAt = at(settings.keyColumn);
    const labelAt = at(settings.label);
    const numeric = settings.numericFeatures.map((name) => ({ name, at: at(name) }));
    const categorical = settings.categoricalFeatures.map((name) => ({ name, at: at(name) }));

    const records: Record<Split, FeatureRecord[]> = { train: [], validation: [], test: [] };
    const labels: Record<Split, number[]> = { train: [], validation: [], test: [] };
    for (const part of manifest.parts) {
      const rows = await readPart(store, settings.buckets.landing, part, columns);
      rows.forEach((row, r) => {
        const where = `part ${part.key} row ${r + 1}`;
        const key = row[keyAt];
        if (!key) throw new StepError('SchemaMismatch', `${settings.keyColumn} is empty in ${where}`);
        const label = row[labelAt];
        if (label !== '0' && label !== '1') {
          throw new StepError('LabelInvalid', `${settings.label} is not 0 or 1 in ${where}`);
        }
        const record: FeatureRecord = {};
        for (const f of numeric) {
          const text = row[f.at];
          const value = text === '' ? null : Number(text);
          if (value !== null && !Number.isFinite(value)) {
            throw new StepError('SchemaMismatch', `${f.name} holds a non-numeric value in ${where}`);
          }
          record[f.name] = value;
        }
        for (const f of categorical) record[f.name] = row[f.at] === '' ? null : row[f.at];
        const split = splitOf(key);
        records[split].push(record);
        labels[split].push(label === '1' ? 1 : 0);
      });
    }
    for (const split of SPLITS) {
      if (records[split].length === 0) {
        throw new StepError('EmptySplit', `the ${split} split is empty (${validation.totalRows} rows in the extract)`);
      }
    }
    const positives = {} as Record<Split, number>;
    for (const split of SPLITS) {
      positives[split] = labels[split].reduce((a, b) => a + b, 0);
      if (positives[split] === 0 || positives[split] === labels[split].length) {
        throw new StepError(
          'SingleClassLabel',
          `${settings.label} has a single class in the ${split} split (${positives[split]} of ${labels[split].length} positive)`,
        );
      }
    }

    const spec: FeatureSpec = {
      format: FEATURE_SPEC_FORMAT,
      label: settings.label,
      features: [
        ...settings.numericFeatures.map((name) => ({ name, type: 'numeric' as const })),
        ...categorical.map(({ name }) => ({
          name,
          type: 'categorical' as const,
          encoding: 'one-hot' as const,
          categories: fitCategories(records.train, name),
        })),
      ],
    };
    const vectorizer = new Vectorizer(spec);
    const keys = curated.keys(settings.dataset, datasetVersion);
    const uriOf = (key: string) => s3Uri(settings.buckets.curated, key);
    const channel = (split: Split) => encodeChannel(vectorizer, records[split], labels[split]);
    const trainUri = uriOf(keys.train);
    const validationUri = uriOf(keys.validation);
    const testRecordsUri = uriOf(keys.testRecords);
    const featureSpecUri = uriOf(keys.featureSpec);
    const baselineUri = uriOf(keys.baseline);
    await store.put(trainUri, channel('train'));
    await store.put(validationUri, channel('validation'));
    await store.put(
      testRecordsUri,
      encodeTestRecords(records.test.map((record, i) => ({ label: labels.test[i], record }))),
    );
    await store.put(featureSpecUri, `${JSON.stringify(spec, null, 2)}\n`);
    await store.put(baselineUri, `${JSON.stringify(baseline(spec, records.train), null, 2)}\n`);

    const suffix = createHash('sha256').update(executionName).digest('hex').slice(0, 10);
    return {
      datasetVersion,
      trainingJobName: trainingJobName(settings.envName, settings.dataset, suffix),
      trainUri: uriOf(keys.trainPrefix),
      validationUri: uriOf(keys.validationPrefix),
      testRecordsUri,
      featureSpecUri,
      baselineUri,
      outputPath: s3Uri(settings.buckets.models, models.trainingPrefix(settings.dataset)),
      rows: { train: records.train.length, validation: records.validation.length, test: records.test.length },
      positives,
    };
  };
}

/**
 * Categories of a feature in the training split, sorted (so the spec is deterministic), within what a feature
 * spec may hold: a spec beyond it would be written here and refused by every reader, Evaluate first. Errors name
 * the feature and the counts, never a value.
 */
function fitCategories(records: readonly FeatureRecord[], name: string): string[] {
  const seen = new Set<string>();
  let tooLong = 0;
  for (const record of records) {
    const value = record[name];
    if (typeof value !== 'string') continue;
    if (value.length > MAX_CATEGORY_LENGTH) tooLong++;
    seen.add(value);
  }
  if (seen.size === 0) throw new StepError('SchemaMismatch', `${name} has no values in the training split`);
  if (tooLong > 0) {
    throw new StepError(
      'SchemaMismatch',
      `${name}: ${tooLong} row(s) of the training split hold a category longer than ${MAX_CATEGORY_LENGTH} characters; ` +
        'generalise or drop the column in the agent policy',
    );
  }
  if (seen.size > MAX_CATEGORIES) {
    throw new StepError(
      'SchemaMismatch',
      `${name} has ${seen.size} categories in the training split, more than the ${MAX_CATEGORIES} a feature spec holds; ` +
        'generalise it in the agent policy, or make it numeric',
    );
  }
  return [...seen].sort();
}

/** Label-first, headerless CSV; NaN (missing) is an empty field. Float32 values print exactly. */
function encodeChannel(vectorizer: Vectorizer, records: readonly FeatureRecord[], labels: readonly number[]): string {
  const row = new Float32Array(vectorizer.width);
  const lines: string[] = [];
  records.forEach((record, i) => {
    vectorizer.fill(record, i, row, 0);
    let line = String(labels[i]);
    for (let j = 0; j < row.length; j++) line += Number.isNaN(row[j]) ? ',' : `,${row[j]}`;
    lines.push(line);
  });
  return `${lines.join('\n')}\n`;
}

/** Drift baseline: decile edges and counts per numeric feature, category counts, missing counts. */
function baseline(spec: FeatureSpec, records: readonly FeatureRecord[]) {
  const features = spec.features.map((feature) => {
    const values = records.map((r) => r[feature.name]);
    const missing = values.filter((v) => v === null).length;
    if (feature.type === 'numeric') {
      const sorted = (values.filter((v) => v !== null) as number[]).sort((a, b) => a - b);
      const deciles = sorted.length === 0 ? [] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
      const edges = [...new Set(deciles.map((d) => sorted[Math.floor((d / 10) * sorted.length)]))];
      const counts = new Array<number>(edges.length + 1).fill(0);
      for (const v of sorted) {
        let b = 0;
        while (b < edges.length && v >= edges[b]) b++;
        counts[b]++;
      }
      return { name: feature.name, type: feature.type, edges, counts, missing };
    }
    const counts: Record<string, number> = {};
    for (const v of values) if (typeof v === 'string') counts[v] = (counts[v] ?? 0) + 1;
    return { name: feature.name, type: feature.type, counts, missing };
  });
  return { format: 'mlp.drift-baseline/1', rows: records.length, features };
}
