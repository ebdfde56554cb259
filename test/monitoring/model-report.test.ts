/**
 * The model report's data and HTML, from a store holding a real XGBoost artifact (a fixture model trained by
 * XGBoost 1.7.4) and the documents the jobs write: every part drawn when it is there; each part that is absent,
 * unreadable, of another version or failing its checksum left out and named, never a crash; text from the
 * registry escaped. (The report of a whole lifecycle, opened in headless Chromium, is in demo-cli.test.ts.)
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture, s3Uri } from '../../contracts/s3-layout';
import { numericSpec } from '../../lambdas/features/feature-spec';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { binaryMetrics, rocCurve, scoreHistogram } from '../../stepfunctions/model-metrics';
import type { ModelVersionRecord } from '../../stepfunctions/model-registry';
import { gatherModelReport } from '../../stepfunctions/monitoring/model-report';
import { renderModelReport } from '../../stepfunctions/monitoring/model-report-html';
import { errorOf, runMlp } from '../support/cli';
import { xgboostFixtures } from '../support/xgboost-fixtures';

jest.setTimeout(60_000);

const VERSION = 'mlp-dev-loans/2';
const sources = { environment: 'dev', dataset: 'loans', captureBucket: 'cap' };
const now = new Date('2026-12-02T12:00:00Z');
const fixture = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
const modelBytes = readFileSync(fixture.files.tar);
const labels = fixture.pred.map((p, i) => (p[0] > 0.5 === (i % 7 !== 0) ? 1 : 0));
const scores = fixture.pred.map((p) => p[0]);

function record(metadata: Record<string, string> = {}, extra: Partial<ModelVersionRecord> = {}): ModelVersionRecord {
  return {
    modelVersion: VERSION,
    modelPackageArn: `arn:aws:sagemaker:eu-west-2:000000000000:model-package/${VERSION}`,
    group: 'mlp-dev-loans',
    createdAt: '2026-12-01T00:00:00.000Z',
    status: 'Approved',
    modelDataUrl: 's3://models/loans/training/job-2/output/model.tar.gz',
    image: 'xgboost',
    metadata: {
      evaluationUri: 's3://models/loans/evaluations/job-2.json',
      featureSpecUri: 's3://curated/loans/v2/feature-spec.json',
      modelSha256: createHash('sha256').update(modelBytes).digest('hex'),
      trainingJobName: 'job-2',
      ...metadata,
    },
    ...extra,
  };
}

function driftDocument(version: string, psi: number, at: string) {
  return {
    format: 'mlp.drift-report/1',
    modelVersion: version,
    records: 5000,
    psiThreshold: 0.25,
    minRecords: 1000,
    judged: true,
    features: [
      { name: 'f0', type: 'numeric', status: psi >= 0.25 ? 'drifted' : 'stable', psi, jensenShannon: null },
      { name: 'f1', type: 'numeric', status: 'stable', psi: 0.01, jensenShannon: null },
    ],
    score: { name: 'score', type: 'score', status: 'stable', psi: 0.03, jensenShannon: null },
    maxPsi: psi,
    window: { from: '2026-12-01T00:00:00.000Z', to: at },
    problems: [],
  };
}

/** A store holding everything the report reads. */
async function fullStore() {
  const store = new LocalArtifactStore(mkdtempSync(join(tmpdir(), 'mlp-report-')));
  const r = record();
  await store.put(r.modelDataUrl, modelBytes);
  await store.put(r.metadata.featureSpecUri, JSON.stringify(numericSpec(12)));
  const champion = { modelVersion: 'mlp-dev-loans/1', datasetVersion: 'v1', metrics: binaryMetrics(labels, scores) };
  await store.put(
    r.metadata.evaluationUri,
    JSON.stringify({
      candidate: binaryMetrics(labels, scores),
      champion,
      curves: { roc: rocCurve(labels, scores), scoreHistogram: scoreHistogram(labels, scores) },
    }),
  );
  for (const [hour, psi] of [
    [9, 0.05],
    [10, 0.31],
    [11, 0.4],
  ] as const) {
    const at = new Date(Date.UTC(2026, 11, 2, hour));
    await store.put(
      s3Uri('cap', capture.driftReportKey('loans', VERSION, at)),
      JSON.stringify(driftDocument(VERSION, psi, at.toISOString())),
    );
  }
  await store.put(
    s3Uri('cap', capture.qualityReportKey('loans', now)),
    JSON.stringify({
      at: now.toISOString(),
      cohorts: [
        {
          modelVersion: 'mlp-dev-loans/1',
          cohort: '2026-11',
          predictions: 10,
          estimatedAuc: 0.7,
          labelled: 0,
          realised: null,
          pending: 'x',
        },
        {
          modelVersion: VERSION,
          cohort: '2026-11',
          predictions: 900,
          estimatedAuc: 0.81,
          labelled: 400,
          realised: { auc: 0.79, brier: 0.1, calibrationError: 0.02, positives: 90, rows: 400 },
          pending: null,
        },
        {
          modelVersion: VERSION,
          cohort: '2026-12',
          predictions: 300,
          estimatedAuc: 0.8,
          labelled: 12,
          realised: null,
          pending: '12 labelled prediction(s), fewer than 200',
        },
      ],
      unmatchedLabels: 0,
      unkeyed: 0,
    }),
  );
  return { store, record: r };
}

test('every part is gathered from its source and drawn; splits are summed per feature of the spec', async () => {
  const { store, record: r } = await fullStore();
  const data = await gatherModelReport(store, sources, r, now);
  expect(data.missing).toEqual([]);
  expect(data.evaluation).toMatchObject({
    candidate: { rows: labels.length },
    champion: { modelVersion: 'mlp-dev-loans/1' },
  });
  expect(data.evaluation!.roc!.at(-1)).toEqual({ falsePositiveRate: 1, truePositiveRate: 1 });
  // The fixture's importance as XGBoost itself counts it (get_score weight), by feature name.
  const expected = Object.entries(fixture.weight).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  expect(data.importance!.filter((f) => f.splits > 0).map((f) => [f.feature, f.splits])).toEqual(expected);
  expect(data.drift!.history.map((h) => h.maxPsi)).toEqual([0.05, 0.31, 0.4]);
  expect(data.drift!.latest.features[0]).toEqual({ name: 'f0', psi: 0.4, drifted: true });
  expect(data.quality!.cohorts.map((c) => c.cohort)).toEqual(['2026-11', '2026-12']);

  const html = await renderModelReport(data);
  for (const id of ['roc', 'calibration', 'score-histogram', 'importance', 'psi', 'psi-history', 'quality']) {
    expect(html).toMatch(new RegExp(`<figure id="${id}"><svg `));
  }
  expect(html).not.toMatch(/<script|Not shown/);
  expect(html).toContain('12 labelled prediction(s), fewer than 200');
});

test('absent, unreadable and foreign parts are left out and named; the rest is still a report', async () => {
  const empty = new LocalArtifactStore(mkdtempSync(join(tmpdir(), 'mlp-report-empty-')));
  const bare = await gatherModelReport(empty, sources, record(), now);
  expect([bare.evaluation, bare.importance, bare.drift, bare.quality]).toEqual([null, null, null, null]);
  expect(bare.missing).toEqual([
    expect.stringMatching(/^evaluation: s3:\/\/models\/loans\/evaluations\/job-2\.json cannot be read/),
    expect.stringMatching(/^feature importance: /),
    'drift: the drift job has not judged this version (never served, or no run yet)',
    'quality: the quality job has not run yet',
  ]);
  const html = await renderModelReport(bare);
  expect(html).toContain('<h2>Not shown</h2>');
  expect(html).toContain('No evaluation could be read.');

  const { store, record: r } = await fullStore();
  // An evaluation from before curves, a damaged drift report, an artifact that is not the registered one, and a
  // quality report without this version.
  const evaluation = JSON.parse(Buffer.from(await store.get(r.metadata.evaluationUri)).toString());
  delete evaluation.curves;
  await store.put(r.metadata.evaluationUri, JSON.stringify(evaluation));
  const damaged = s3Uri('cap', capture.driftReportKey('loans', VERSION, new Date(Date.UTC(2026, 11, 2, 11, 30))));
  await store.put(damaged, '{"modelVersion": "mlp-dev-loans/2", "records": -1');
  const tampered = record({ modelSha256: '0'.repeat(64) });
  await store.put(
    s3Uri('cap', capture.qualityReportKey('loans', new Date(now.getTime() + 1000))),
    JSON.stringify({ cohorts: [] }),
  );
  const partial = await gatherModelReport(store, sources, tampered, now);
  expect(partial.evaluation!.roc).toBeNull();
  expect(partial.missing).toEqual([
    'ROC curve and score histogram: evaluated before Evaluate recorded curves',
    expect.stringContaining(`feature importance: ${r.modelDataUrl}: model checksum mismatch`),
    expect.stringContaining(`drift run: ${damaged} cannot be read`),
    `quality: the latest quality report holds no prediction of ${VERSION}`,
  ]);
  // One damaged run costs that run only: the other three still chart.
  expect(partial.drift!.history.map((h) => h.maxPsi)).toEqual([0.05, 0.31, 0.4]);
  const rendered = await renderModelReport(partial);
  expect(rendered).toContain('No ROC curve recorded for this evaluation.');
  expect(rendered).toMatch(/<figure id="calibration"><svg /);

  // A report of another version filed under this one's prefix is refused by name.
  const foreign = s3Uri('cap', capture.driftReportKey('loans', VERSION, new Date(Date.UTC(2026, 11, 2, 11, 45))));
  await store.delete(damaged);
  await store.put(foreign, JSON.stringify(driftDocument('mlp-dev-loans/1', 0.1, now.toISOString())));
  const other = await gatherModelReport(store, sources, r, now);
  expect(other.missing).toContain(`drift run: ${foreign} is a report of mlp-dev-loans/1`);
  expect(other.drift!.history).toHaveLength(3);
});

test('the latest judged run is the one ranked by; later runs with too few records are told, not charted', async () => {
  const { store, record: r } = await fullStore();
  const at = new Date(Date.UTC(2026, 11, 2, 12));
  const base = driftDocument(VERSION, 0.9, at.toISOString());
  const quiet = {
    ...base,
    records: 40,
    judged: false,
    maxPsi: null,
    features: base.features.map((f) => ({ ...f, psi: null, status: 'insufficient' })),
  };
  await store.put(s3Uri('cap', capture.driftReportKey('loans', VERSION, at)), JSON.stringify(quiet));
  const data = await gatherModelReport(store, sources, r, now);
  expect(data.drift!.history.map((h) => h.judged)).toEqual([true, true, true, false]);
  expect(data.drift!.latest).toMatchObject({ judged: true, maxPsi: 0.4, at: '2026-12-02T11:00:00.000Z' });
  const html = await renderModelReport(data);
  expect(html).toContain('latest judged window to 2026-12-02T11:00:00.000Z, max PSI 0.4000; 1 later window(s)');
  expect(html).toMatch(/<figure id="psi"><svg /);
});

test("an AWS error is shown by its name and status, never its message (which carries the caller's ARN)", async () => {
  const { store, record: r } = await fullStore();
  const denied = Object.assign(
    new Error('User: arn:aws:sts::123456789012:assumed-role/analyst/jo is not authorized to perform: s3:GetObject'),
    { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
  );
  const get = store.get.bind(store);
  store.get = async (uri: string) => {
    if (uri === r.metadata.evaluationUri || uri === r.metadata.featureSpecUri) throw denied;
    return get(uri);
  };
  const data = await gatherModelReport(store, sources, r, now);
  expect(data.missing).toEqual([
    `evaluation: ${r.metadata.evaluationUri} cannot be read: AccessDenied (HTTP 403)`,
    `feature importance: ${r.metadata.featureSpecUri}: AccessDenied (HTTP 403)`,
  ]);
  expect(await renderModelReport(data)).not.toContain('123456789012');
});

test('text from the registry is escaped: a decision reason cannot inject markup', async () => {
  const empty = new LocalArtifactStore(mkdtempSync(join(tmpdir(), 'mlp-report-escape-')));
  const r = record({}, { statusReasons: ['<script>alert(1)</script> & "quoted"'], approver: "o'brien" });
  const html = await renderModelReport(await gatherModelReport(empty, sources, r, now));
  expect(html).not.toContain('<script>');
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;');
  expect(html).toContain('o&#39;brien');
});

test('mlp report names an unknown version and the ones the registry holds', () => {
  const home = mkdtempSync(join(tmpdir(), 'mlp-report-cli-'));
  const run = runMlp(['report', 'mlp-dev-loans/9'], { env: { MLP_HOME: home } });
  expect(run.status).toBe(2);
  expect(errorOf(run).message).toContain('no model version mlp-dev-loans/9 in the local registry of dev');
  expect(errorOf(run).message).toContain('it holds none yet');
});
