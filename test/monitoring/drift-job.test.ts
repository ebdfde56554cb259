/**
 * The drift job over a capture bucket (the local store: files): it judges the champion's window against the
 * champion's baseline, writes the report outside the scorer's prefix, publishes PSI per feature with Feature and
 * ModelVersion dimensions and MaxPsi for the alarm; a quiet window, unreadable captures, another version's
 * captures, captures outside the window and a missing champion or baseline are each defined and raise nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { capture, s3Uri } from '../../contracts/s3-layout';
import type { ChampionPointer } from '../../contracts/champion-pointer';
import { FEATURE_SPEC_FORMAT, type FeatureSpec } from '../../lambdas/features/feature-spec';
import { CAPTURE_FORMAT } from '../../lambdas/monitoring/capture';
import { DRIFT_BASELINE_FORMAT, numericBins, parseDriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import { DriftCounter } from '../../lambdas/monitoring/drift-counts';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { runDriftJob } from '../../stepfunctions/monitoring/drift-job';
import { publishDriftMetrics } from '../../stepfunctions/monitoring/monitoring-handlers';
import { captureOutput } from '../support/capture-output';

const VERSION = 'mlp-dev-loans/3';
const settings = { dataset: 'loans', captureBucket: 'cap', psiThreshold: 0.2, minRecords: 500, windowHours: 24 };
const spec: FeatureSpec = {
  format: FEATURE_SPEC_FORMAT,
  features: [
    { name: 'a', type: 'numeric' },
    { name: 'b', type: 'numeric' },
  ],
};
const now = new Date('2026-12-02T10:30:00Z');

let root: string;
let store: LocalArtifactStore;
let pointer: ChampionPointer;
let seed = 1;
const normal = () => {
  seed = (seed * 16807) % 2147483647;
  const u = seed / 2147483647;
  seed = (seed * 16807) % 2147483647;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * (seed / 2147483647));
};
const baseline = parseDriftBaseline({
  format: DRIFT_BASELINE_FORMAT,
  rows: 20_000,
  modelVersion: VERSION,
  features: ['a', 'b'].map((name) => ({
    name,
    type: 'numeric',
    ...numericBins(Array.from({ length: 20_000 }, normal)),
  })),
});

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'mlp-drift-job-'));
  store = new LocalArtifactStore(root);
  const baselineUri = 's3://models/champion/loans/mlp-dev-loans-3/baseline.json';
  await store.put(baselineUri, JSON.stringify(baseline));
  pointer = {
    modelVersion: VERSION,
    modelDataUrl: 'm',
    featureSpecUri: 'f',
    modelSha256: 's',
    baselineUri,
    datasetVersion: 'v',
    trainingJobName: 'j',
    metrics: {} as ChampionPointer['metrics'],
    deployedAt: now.toISOString(),
  };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Stores the capture of `n` records, `a` shifted by `shift`σ, as the scorer would at `at`. */
async function captured(n: number, shift: number, at: Date, version = VERSION, id = `r${at.getTime()}`) {
  const counter = new DriftCounter(spec, baseline, version);
  const raw = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    raw[2 * i] = normal() + shift;
    raw[2 * i + 1] = normal();
  }
  counter.addRows(raw, n);
  const document = {
    format: CAPTURE_FORMAT,
    modelVersion: version,
    requestId: id,
    capturedAt: at.toISOString(),
    counts: counter.take(),
    predictions: [],
  };
  const key = capture.datasetPrefix('loans') + capture.documentKey(version, at, id);
  await store.put(s3Uri('cap', key), JSON.stringify(document));
}

test('a shifted window drifts on its feature only; the report and metrics say so', async () => {
  for (let h = 0; h < 4; h++) await captured(300, 1, new Date(now.getTime() - h * 3_600_000));
  const result = await runDriftJob(store, settings, pointer, now);
  expect(result.report).toMatchObject({ modelVersion: VERSION, records: 1200, judged: true, drifted: ['a'] });
  expect(result.report!.features[0].psi!).toBeGreaterThan(0.5);
  expect(result.report!.features[1].psi!).toBeLessThan(0.05);
  expect(result.reportUri).toMatch(/^s3:\/\/cap\/_monitoring\/loans\/drift\/mlp-dev-loans-3\//);
  expect(JSON.parse(Buffer.from(await store.get(result.reportUri!)).toString()).drifted).toEqual(['a']);
  expect(result.metrics).toEqual(
    expect.arrayContaining([
      {
        name: 'FeaturePsi',
        value: result.report!.features[0].psi,
        dimensions: { ModelVersion: VERSION, Feature: 'a' },
      },
      { name: 'DriftedShare', value: 0.5, dimensions: { ModelVersion: VERSION } },
      { name: 'MaxPsi', value: result.report!.maxPsi, dimensions: {} },
    ]),
  );
  const { output } = await captureOutput(async () => {
    const metrics = new Metrics({ namespace: 'mlp/dev', serviceName: 'mlp-monitoring' });
    publishDriftMetrics(metrics, result.metrics);
  });
  const documents = output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const psiOfA = documents.find((d) => d.Feature === 'a');
  expect(psiOfA._aws.CloudWatchMetrics[0]).toMatchObject({
    Namespace: 'mlp/dev',
    Dimensions: [expect.arrayContaining(['service', 'ModelVersion', 'Feature'])],
  });
  const max = documents.find((d) => 'MaxPsi' in d);
  expect(max._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
});

test('a quiet window publishes no PSI; unreadable, other-version and out-of-window captures are set aside', async () => {
  await captured(100, 3, new Date(now.getTime() - 3_600_000));
  await captured(5000, 3, new Date(now.getTime() - 3_600_000), 'mlp-dev-loans/2', 'other');
  await captured(5000, 3, new Date(now.getTime() - 30 * 3_600_000), VERSION, 'old');
  const hour = capture.datasetPrefix('loans') + capture.hourPrefix(VERSION, new Date(now.getTime() - 3_600_000));
  await store.put(s3Uri('cap', `${hour}broken.json`), '{"format": "mlp.capture/1", "predictions": 7}');
  const result = await runDriftJob(store, settings, pointer, now);
  expect(result.report).toMatchObject({ records: 100, judged: false, maxPsi: null, drifted: [] });
  expect(result.metrics).toEqual([{ name: 'WindowRecords', value: 100, dimensions: { ModelVersion: VERSION } }]);
  expect(result.unreadable).toBe(1);
  expect(result.problems[0]).toMatch(/broken\.json is not a capture/);
});

test('the window is the last windowHours up to now; a capture counted against other bins is set aside', async () => {
  await captured(600, 1, new Date(now.getTime() - 23.9 * 3_600_000)); // inside the 24 h
  await captured(600, 1, new Date(now.getTime() - 24.1 * 3_600_000)); // just outside
  const at = new Date(now.getTime() - 3_600_000);
  const key = capture.datasetPrefix('loans') + capture.documentKey(VERSION, at, 'odd');
  await store.put(
    s3Uri('cap', key),
    JSON.stringify({
      format: CAPTURE_FORMAT,
      modelVersion: VERSION,
      requestId: 'odd',
      capturedAt: at.toISOString(),
      counts: { format: 'mlp.drift-counts/1', modelVersion: VERSION, records: 5, features: { a: [5, 0] } },
      predictions: [],
    }),
  );
  const result = await runDriftJob(store, settings, pointer, now);
  expect(result.report).toMatchObject({ records: 600, judged: true, drifted: ['a'] });
  expect(result.problems).toEqual([expect.stringMatching(/odd\.json counts feature a against other bins/)]);
});

test('no champion, or a champion without a baseline: skipped, said why, nothing published', async () => {
  expect(await runDriftJob(store, settings, undefined, now)).toMatchObject({
    skipped: 'no model is deployed yet',
    metrics: [],
  });
  const { baselineUri: _none, ...older } = pointer;
  expect(await runDriftJob(store, settings, older, now)).toMatchObject({
    skipped: `${VERSION} was deployed without a drift baseline`,
    metrics: [],
  });
});
