/**
 * `mlp drift` and `mlp monitor` as a user runs them, on a home holding one registered version (its feature spec
 * and baseline written as Prepare, Evaluate and Deploy would): the report of a shifted file, and every kind of bad
 * input answered with exit 2 and a message naming the problem; `mlp monitor` on a home with nothing deployed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment } from '../../config';
import { models, s3Uri } from '../../contracts/s3-layout';
import { FEATURE_SPEC_FORMAT } from '../../lambdas/features/feature-spec';
import { categoricalBins, DRIFT_BASELINE_FORMAT, numericBins } from '../../lambdas/monitoring/drift-baseline';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { localLayout, localSettings } from '../../local/local-home';
import { LocalModelRegistry } from '../../local/local-model-registry';
import { errorOf, runMlp } from '../support/cli';

const config = loadEnvironment('dev');
const dataset = config.retraining.dataset;
let home: string;
const VERSION = `mlp-dev-${dataset}/1`;

/** `n` rows of income (uniform 10k–60k, times `factor`) and region. */
function csv(n: number, factor = 1): string {
  const rows = Array.from(
    { length: n },
    (_, i) => `${(10_000 + ((i * 7919) % 50_000)) * factor},${['north', 'south', 'east'][i % 3]}`,
  );
  return `income,region,ignored\n${rows.map((r) => `${r},x`).join('\n')}\n`;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'mlp-monitor-cli-'));
  const layout = localLayout(home, 'dev');
  const store = new LocalArtifactStore(layout.objects);
  const bucket = localSettings(config).buckets.models;
  const specUri = s3Uri(bucket, `${dataset}/spec.json`);
  await store.put(
    specUri,
    JSON.stringify({
      format: FEATURE_SPEC_FORMAT,
      features: [
        { name: 'income', type: 'numeric' },
        { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['east', 'north', 'south'] },
      ],
    }),
  );
  const incomes = Array.from({ length: 3000 }, (_, i) => 10_000 + ((i * 7919) % 50_000));
  await store.put(
    s3Uri(bucket, models.baselineKey(dataset, 'job-1')),
    JSON.stringify({
      format: DRIFT_BASELINE_FORMAT,
      rows: 3000,
      features: [
        { name: 'income', type: 'numeric', ...numericBins(incomes) },
        {
          name: 'region',
          type: 'categorical',
          ...categoricalBins({ north: 1000, south: 1000, east: 1000 }),
          missing: 0,
        },
      ],
      score: numericBins([0.1, 0.2, 0.3]),
    }),
  );
  await new LocalModelRegistry(layout.registry).register({
    ModelPackageGroupName: `mlp-dev-${dataset}`,
    InferenceSpecification: { Containers: [{ Image: 'xgboost', ModelDataUrl: 's3://x/model.tar.gz' }] },
    CustomerMetadataProperties: { featureSpecUri: specUri, trainingJobName: 'job-1' },
  } as never);
  writeFileSync(join(home, 'same.csv'), csv(1000));
  writeFileSync(join(home, 'shifted.csv'), csv(1000, 0.5));
  writeFileSync(join(home, 'few.csv'), csv(10));
  writeFileSync(join(home, 'bad.csv'), 'income,region\n12,north\nlots,south\n');
  writeFileSync(join(home, 'nocolumn.csv'), 'region\nnorth\n');
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const drift = (file: string, ...extra: string[]) =>
  runMlp(['drift', '--model', VERSION, '--input', join(home, file), '--json', ...extra], { env: { MLP_HOME: home } });

test('a shifted file drifts on the shifted feature only; the same distribution does not; a small file is not judged', () => {
  const shifted = drift('shifted.csv');
  expect(shifted.status).toBe(0);
  const report = JSON.parse(shifted.stdout);
  expect(report).toMatchObject({
    modelVersion: VERSION,
    records: 1000,
    judged: true,
    drifted: ['income'],
    score: null,
  });
  expect(report.features[1]).toMatchObject({ name: 'region', status: 'stable' });
  expect(JSON.parse(drift('same.csv').stdout)).toMatchObject({ drifted: [], judged: true });
  expect(JSON.parse(drift('few.csv').stdout)).toMatchObject({ judged: false, records: 10, maxPsi: null });
});

test('bad input: an unknown version, a missing file, a value that is not a number, a missing column', () => {
  const unknown = runMlp(['drift', '--model', 'mlp-dev-loans/9', '--input', join(home, 'same.csv')], {
    env: { MLP_HOME: home },
  });
  expect(unknown.status).toBe(2);
  expect(errorOf(unknown).message).toContain(
    `no model version mlp-dev-loans/9 in the local dev registry; it holds ${VERSION}`,
  );
  const missing = drift('none.csv');
  expect(missing.status).toBe(2);
  expect(errorOf(missing).message).toContain('none.csv cannot be read (ENOENT)');
  const bad = drift('bad.csv');
  expect(bad.status).toBe(2);
  expect(errorOf(bad).message).toMatch(/bad\.csv line 3 column income: not a number/);
  expect(errorOf(bad).message).not.toContain('lots');
  const column = drift('nocolumn.csv');
  expect(column.status).toBe(2);
  expect(errorOf(column).message).toContain('the header lacks 1 feature(s) of the spec: income');
});

test('mlp monitor with nothing deployed judges nothing and leaves the alarm OK', () => {
  const run = runMlp(['monitor', '--json'], { env: { MLP_HOME: mkdtempSync(join(tmpdir(), 'mlp-empty-')) } });
  expect(run.status).toBe(0);
  const result = JSON.parse(run.stdout);
  expect(result).toMatchObject({
    skipped: 'no model is deployed yet',
    report: null,
    metrics: [],
    alarm: { name: 'mlp-dev-drift-psi', state: 'OK', entered: false },
    retraining: null,
  });
});
