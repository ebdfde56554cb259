/**
 * The retraining steps against bad extracts and artifacts: each fails with its named error, a message that
 * names columns, files and counts, never a data value.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadEnvironment } from '../../config';
import { type ExtractManifest, MANIFEST_FORMAT } from '../../contracts/extract-manifest';
import { STEP_HANDLERS } from '../../contracts/retraining-states';
import * as lambdaHandlers from '../../stepfunctions/lambda-handlers';
import { landing } from '../../contracts/s3-layout';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { evaluateStep } from '../../stepfunctions/steps/evaluate';
import { decidePromotion } from '../../stepfunctions/steps/gate';
import { splitOf } from '../../stepfunctions/curated/split';
import { prepareStep } from '../../stepfunctions/steps/prepare';
import { MAX_CATEGORIES, MAX_CATEGORY_LENGTH } from '../../lambdas/features/feature-spec';
import { validateManifestStep } from '../../stepfunctions/steps/validate-manifest';
import { localSettings } from '../../local/local-home';
import { binaryMetrics, rocCurve, scoreHistogram } from '../../stepfunctions/model-metrics';

const settings = localSettings(loadEnvironment('dev'));
const numeric = settings.numericFeatures;
const categorical = settings.categoricalFeatures;
const columns = [settings.keyColumn, ...numeric, ...categorical, 'originated_on', 'updated_at', settings.label];
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A fresh store holding one extract of `rows` (objects by column), optionally tampered with. */
async function extract(
  rows: Record<string, string>[],
  options: { schema?: Record<string, string>; dropPart?: boolean; claimRows?: number } = {},
) {
  const store = new LocalArtifactStore(mkdtempSync(join(tmpdir(), 'mlp-steps-')));
  const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => r[c] ?? '').join(','))];
  const body = gzipSync(`${lines.join('\n')}\n`);
  const runId = '20261128T120000Z-00000000';
  const partKey = landing.partKey(settings.dataset, runId, 0);
  if (!options.dropPart) await store.put(`s3://${settings.buckets.landing}/${partKey}`, body);
  const schema =
    options.schema ??
    Object.fromEntries(columns.map((c) => [c, numeric.includes(c) || c === settings.label ? 'number' : 'string']));
  const manifest: ExtractManifest = {
    format: MANIFEST_FORMAT,
    dataset: settings.dataset,
    runId,
    createdAt: '2026-11-28T12:00:00Z',
    parts: [{ key: partKey, rows: options.claimRows ?? rows.length, bytes: body.length, sha256: sha(body) }],
    totalRows: options.claimRows ?? rows.length,
    suppressedRows: 0,
    schema,
    policySha256: 'p',
    kid: 'k',
    k: 5,
    quasiIdentifiers: [],
    watermark: { column: 'updated_at', from: null, to: '2026-10-31T00:00:00Z', upperBound: '2026-10-31T00:00:00Z' },
    agentVersion: 'test',
  };
  const manifestKey = landing.manifestKey(settings.dataset, runId);
  await store.put(`s3://${settings.buckets.landing}/${manifestKey}`, JSON.stringify(manifest));
  return { store, manifestKey };
}

/** `n` plausible rows whose label is `label(i)`; numeric values are simple functions of i. */
const rows = (n: number, label: (i: number) => number) =>
  Array.from({ length: n }, (_, i) => ({
    [settings.keyColumn]: sha(`loan-${i}`),
    ...Object.fromEntries(numeric.map((c, j) => [c, String((i * (j + 3)) % 97)])),
    ...Object.fromEntries(categorical.map((c) => [c, ['a', 'b', 'c'][i % 3]])),
    originated_on: '2025-06',
    updated_at: '2026-01-01T00:00:00Z',
    [settings.label]: String(label(i)),
  }));

async function failure(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the step to fail');
}

test('a schema change is a SchemaMismatch naming the columns', async () => {
  const { store, manifestKey } = await extract(
    rows(50, (i) => i % 2),
    {
      schema: Object.fromEntries(columns.filter((c) => c !== numeric[0]).map((c) => [c, 'number'])),
    },
  );
  const error = await failure(() => validateManifestStep({ store, settings })({ manifestKey }));
  expect(error.name).toBe('SchemaMismatch');
  expect(error.message).toContain(`${numeric[0]} is missing`);
});

test('a missing part and a row count that does not add up are ManifestInvalid', async () => {
  const missing = await extract(
    rows(50, (i) => i % 2),
    { dropPart: true },
  );
  const gone = await failure(() =>
    validateManifestStep({ store: missing.store, settings })({ manifestKey: missing.manifestKey }),
  );
  expect(gone.name).toBe('ManifestInvalid');
  expect(gone.message).toMatch(/part .* is missing/);
  const short = await extract(
    rows(50, (i) => i % 2),
    { claimRows: 60 },
  );
  const counted = await failure(() => validateManifestStep({ store: short.store, settings })(short));
  expect(counted.name).toBe('ManifestInvalid');
  expect(counted.message).toContain('holds 50 rows, the manifest says 60');
});

async function prepared(data: Record<string, string>[]) {
  const { store, manifestKey } = await extract(data);
  const validation = await validateManifestStep({ store, settings })({ manifestKey });
  return { store, run: () => prepareStep({ store, settings })({ validation, executionName: 'test' }) };
}

test('an all-one-class label is SingleClassLabel', async () => {
  const { run } = await prepared(rows(400, () => 0));
  const error = await failure(run);
  expect(error.name).toBe('SingleClassLabel');
  expect(error.message).toMatch(/single class in the \w+ split/);
});

test('an extract too small to fill every split is EmptySplit', async () => {
  const data = rows(40, (i) => i % 2).filter((r) => splitOf(r[settings.keyColumn]) !== 'test');
  const { run } = await prepared(data);
  const error = await failure(run);
  expect(error.name).toBe('EmptySplit');
  expect(error.message).toContain('the test split is empty');
});

test('a category a feature spec cannot hold (too long, too many) is SchemaMismatch at Prepare, not at Evaluate', async () => {
  const [feature] = categorical;
  const long = rows(400, (i) => i % 2);
  const value = `x${'y'.repeat(MAX_CATEGORY_LENGTH)}`;
  for (const row of long) row[feature] = value;
  const tooLong = await failure((await prepared(long)).run);
  expect({ name: tooLong.name, message: tooLong.message }).toEqual({
    name: 'SchemaMismatch',
    message: expect.stringMatching(new RegExp(`^${feature}: \\d+ row\\(s\\) .* longer than ${MAX_CATEGORY_LENGTH}`)),
  });
  expect(tooLong.message).not.toContain(value);

  const many = rows(3 * (MAX_CATEGORIES + 500), (i) => i % 2).map((row, i) => ({ ...row, [feature]: `c${i}` }));
  const tooMany = await failure((await prepared(many)).run);
  expect(tooMany.name).toBe('SchemaMismatch');
  expect(tooMany.message).toMatch(
    new RegExp(`^${feature} has \\d+ categories in the training split, more than the ${MAX_CATEGORIES}`),
  );
});

test('a window date or a number the table cannot hold is SchemaMismatch by count, never repeating the value', async () => {
  const dated = rows(200, (i) => i % 2);
  dated[3].originated_on = 'soon-ish';
  const undated = await failure((await prepared(dated)).run);
  expect(undated.name).toBe('SchemaMismatch');
  expect(undated.message).toContain('originated_on holds 1 value(s) that are not dates');
  expect(undated.message).not.toContain('soon-ish');
  // Dates DuckDB's cast would take but Athena's would not: not ISO, so refused too.
  for (const lenient of ['2024-1-5', '2024/01/05', '2024-01-05x']) {
    const loose = rows(200, (i) => i % 2);
    loose[7].originated_on = lenient;
    const refused = await failure((await prepared(loose)).run);
    expect({ value: lenient, name: refused.name }).toEqual({ value: lenient, name: 'SchemaMismatch' });
    expect(refused.message).toContain('originated_on holds 1 value(s) that are not dates');
  }
  // …while a month, a date and a timestamp are dates.
  const forms = rows(200, (i) => i % 2);
  forms[1].originated_on = '2024-01';
  forms[2].originated_on = '2024-01-05';
  forms[3].originated_on = '2024-01-05T10:00:00Z';
  forms[4].originated_on = '2024-01-05 10:00:00';
  await expect((await prepared(forms)).run()).resolves.toBeDefined();
  const infinite = rows(200, (i) => i % 2);
  infinite[5][numeric[0]] = 'Infinity';
  const notFinite = await failure((await prepared(infinite)).run);
  expect(notFinite.name).toBe('SchemaMismatch');
  expect(notFinite.message).toContain(`${numeric[0]} holds 1 value(s) that are not finite numbers`);
  // Finite, but beyond float32, which the model compares in: refused at Prepare by column and count.
  const wide = rows(200, (i) => i % 2);
  wide[6][numeric[1]] = '1e39';
  wide[8][numeric[1]] = '-4e38';
  const beyond = await failure((await prepared(wide)).run);
  expect({ name: beyond.name, message: beyond.message }).toEqual({
    name: 'SchemaMismatch',
    message: `${numeric[1]}: 2 value(s) beyond the float32 range the model compares in`,
  });
});

test('a label other than 0/1 is LabelInvalid, and the message never repeats the value', async () => {
  const data = rows(200, (i) => i % 2);
  data[7][settings.label] = '7777';
  const { run } = await prepared(data);
  const error = await failure(run);
  expect(error.name).toBe('LabelInvalid');
  expect(error.message).not.toContain('7777');
});

test('a model artifact that does not load is ModelLoadFailed', async () => {
  const { store, run } = await prepared(rows(600, (i) => (i % 5 === 0 ? 1 : 0)));
  const data = await run();
  const modelDataUrl = `s3://${settings.buckets.models}/loans/training/broken/output/model.tar.gz`;
  await store.put(modelDataUrl, gzipSync('not a tar archive at all, just text'));
  const error = await failure(() =>
    evaluateStep({ store, settings })({
      prepared: data,
      training: { trainingJobName: 'broken', trainingJobArn: 'arn', modelDataUrl },
    }),
  );
  expect(error.name).toBe('ModelLoadFailed');
  expect(error.message).toContain('cannot be loaded');
});

test('the gate applies each floor and bound on its own', () => {
  // A policy the toy metrics clear, so each test below trips exactly one rule.
  const policy = { ...settings.promotion, minAuc: 0.6, maxCalibrationError: 0.5 };
  const metrics = binaryMetrics([0, 1, 0, 1, 1, 0], [0.1, 0.9, 0.2, 0.8, 0.7, 0.3]);
  const evaluation = { evaluationUri: 'e', baselineUri: 'b', modelSha256: 's', candidate: metrics, champion: null };
  const input = { prepared: { datasetVersion: 'v2' }, evaluation };
  expect(decidePromotion(policy, input)).toMatchObject({ promote: true, reasons: [] });
  expect(decidePromotion({ ...policy, minAuc: 1.01 }, input).reasons.join()).toContain('below the floor');
  const weak = { ...metrics, auc: metrics.auc - 0.2 };
  const champion = { modelVersion: 'g/1', datasetVersion: 'v1', metrics };
  const worse = decidePromotion(policy, { ...input, evaluation: { ...evaluation, candidate: weak, champion } });
  expect(worse.reasons.join()).toMatch(/drops more than .* below the champion/);
  const miscalibrated = { ...metrics, calibrationError: policy.maxCalibrationError + 0.01 };
  expect(decidePromotion(policy, { ...input, evaluation: { ...evaluation, candidate: miscalibrated } }).promote).toBe(
    false,
  );
});

test('AUC and KS agree with their definitions (pairwise count, maximum CDF gap) on random scores with ties', () => {
  let seed = 17;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const n = 400;
  const labels = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
  const scores = labels.map((y) => Math.round((random() * 0.6 + y * 0.3) * 20) / 20); // ties on purpose
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (labels[i] === 1 && labels[j] === 0) {
        pairs++;
        wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
  let ks = 0;
  for (const t of new Set(scores)) {
    const tpr = labels.filter((y, i) => y === 1 && scores[i] <= t).length / labels.filter((y) => y === 1).length;
    const fpr = labels.filter((y, i) => y === 0 && scores[i] <= t).length / labels.filter((y) => y === 0).length;
    ks = Math.max(ks, Math.abs(tpr - fpr));
  }
  const metrics = binaryMetrics(labels, scores);
  expect(metrics.auc).toBeCloseTo(wins / pairs, 12);
  expect(metrics.gini).toBeCloseTo(2 * (wins / pairs) - 1, 12);
  expect(metrics.ks).toBeCloseTo(ks, 12);
  const brier = labels.reduce<number>((s, y, i) => s + (scores[i] - y) ** 2, 0) / n;
  expect(metrics.brier).toBeCloseTo(brier, 12);
  expect(metrics.calibration.reduce((s, b) => s + b.count, 0)).toBe(n);
});

test('the ROC curve runs from (0,0) to (1,1), its area is the AUC, and a long one is thinned to the limit', () => {
  let seed = 5;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const labels = Array.from({ length: 3000 }, () => (random() < 0.25 ? 1 : 0));
  const scores = labels.map((y) => Math.round((random() * 0.7 + y * 0.25) * 500) / 500); // ties on purpose
  const area = (curve: ReturnType<typeof rocCurve>) =>
    curve.reduce(
      (sum, p, i) =>
        i === 0
          ? 0
          : sum +
            ((p.falsePositiveRate - curve[i - 1].falsePositiveRate) *
              (p.truePositiveRate + curve[i - 1].truePositiveRate)) /
              2,
      0,
    );
  const full = rocCurve(labels, scores, 10_000);
  expect(full[0]).toEqual({ falsePositiveRate: 0, truePositiveRate: 0 });
  expect(full.at(-1)).toEqual({ falsePositiveRate: 1, truePositiveRate: 1 });
  expect(full.length).toBe(new Set(scores).size + 1);
  expect(area(full)).toBeCloseTo(binaryMetrics(labels, scores).auc, 12);
  const thin = rocCurve(labels, scores, 50);
  expect(thin).toHaveLength(50);
  expect([thin[0], thin.at(-1)]).toEqual([full[0], full.at(-1)]);
  expect(Math.abs(area(thin) - area(full))).toBeLessThan(0.01);
  expect(() => rocCurve([1, 1], [0.2, 0.3])).toThrow(/both classes/);
  const histogram = scoreHistogram(labels, scores, 10);
  expect(histogram.edges).toHaveLength(11);
  expect(histogram.positives.reduce((a, b) => a + b)).toBe(labels.filter((y) => y === 1).length);
  expect(histogram.negatives[9] + histogram.positives[9]).toBe(scores.filter((s) => s >= 0.9).length);
});

test('every step function of the stack names an export of the Lambda entry module that is a handler', () => {
  const entry = lambdaHandlers as unknown as Record<string, unknown>;
  for (const name of Object.values(STEP_HANDLERS))
    expect({ name, type: typeof entry[name] }).toEqual({ name, type: 'function' });
});
