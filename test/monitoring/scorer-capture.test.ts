/**
 * The scorer's hot path, end to end through the Lambda handler: a model loaded with its baseline counts every
 * scored record into the baseline's bins and writes one capture per request (counts, predictions, pseudonymous
 * keys, never a feature value); a key that is not a pseudonym is refused; a capture that fails does not fail
 * the request; an unusable baseline (another version's, malformed) serves without counts and says why once.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { loadScoringModel, type ScoringModel } from '../../lambdas/scorer/scoring-model';
import { captureSink, parseCapture } from '../../lambdas/monitoring/capture';
import type * as CaptureModule from '../../lambdas/monitoring/capture';
import { binOf, DRIFT_BASELINE_FORMAT, numericBins } from '../../lambdas/monitoring/drift-baseline';
import { captureOutput } from '../support/capture-output';
import { context } from '../support/lambda-context';
import { xgboostFixtures } from '../support/xgboost-fixtures';

type Handler = (event: unknown, ctx: typeof context) => Promise<Record<string, unknown>>;

const binary = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
const width = binary.rows[0].length;
const names = Array.from({ length: width }, (_, i) => `f${i}`);
const KEY = 'ab'.repeat(32);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlp-capture-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A baseline of the fixture's rows for every feature, and of scores spread over [0, 1). */
function writeBaseline(modelVersion: string): string {
  const column = (j: number) => binary.rows.map((row) => row[j] ?? Number.NaN);
  const path = join(dir, 'baseline.json');
  const baseline = {
    format: DRIFT_BASELINE_FORMAT,
    rows: binary.rows.length,
    modelVersion,
    features: names.map((name, j) => ({ name, type: 'numeric', ...numericBins(column(j)) })),
    score: numericBins(Array.from({ length: 100 }, (_, i) => i / 100)),
  };
  writeFileSync(path, JSON.stringify(baseline));
  return path;
}

function handlerFor(model: Promise<ScoringModel>, sink = captureSink(join(dir, 'capture'))) {
  const observability = {
    logger: new Logger({ serviceName: 't' }),
    metrics: new Metrics({ namespace: 't' }),
    capture: sink,
  };
  return createScoringHandler(() => model, observability) as unknown as Handler;
}

const request = (body: unknown) => ({
  resource: '/score',
  path: '/score',
  httpMethod: 'POST',
  headers: {},
  body: JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: { requestId: 'r1', stage: 'live' },
});

/** Every capture document written under the sink, parsed. */
function captures() {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else found.push(join(d, entry.name));
    }
  };
  try {
    walk(join(dir, 'capture'));
  } catch {
    return [];
  }
  return found.map((path) => ({ path, document: parseCapture(readFileSync(path, 'utf8'), path) }));
}

const records = binary.rows.slice(0, 20).map((row) => Object.fromEntries(row.map((v, j) => [names[j], v])));

test('each request leaves one capture: its counts in the baseline bins, predictions and keys, no feature value', async () => {
  const baselineUri = writeBaseline('loans/7');
  const model = loadScoringModel({ modelUri: binary.files.tar, modelVersion: 'loans/7', baselineUri });
  const handler = handlerFor(model);
  const keys = records.map((_, i) => i.toString(16).padStart(64, '0'));
  const { result } = await captureOutput(() => handler(request({ records, keys }), context));
  expect(result.statusCode).toBe(200);
  const predictions = JSON.parse(result.body as string).predictions as number[];
  const [{ path, document }] = captures();
  expect(path).toContain(join('capture', 'loans-7'));
  expect(document.predictions).toEqual(predictions.map((score, i) => ({ key: keys[i], score })));
  // The counts are what binning the records' own values gives, feature by feature.
  const baseline = JSON.parse(readFileSync(baselineUri, 'utf8'));
  names.forEach((name, j) => {
    const expected = new Array(baseline.features[j].counts.length + 1).fill(0);
    for (const r of records) {
      const v = r[name];
      expected[v === null ? expected.length - 1 : binOf(baseline.features[j].edges, v)]++;
    }
    expect(document.counts!.features[name]).toEqual(expected);
  });
  const scores = new Array(baseline.score.counts.length + 1).fill(0);
  for (const p of predictions) scores[binOf(baseline.score.edges, p)]++;
  expect(document.counts!.score).toEqual(scores);
  // Nothing of the records' values: only bins, scores and keys.
  expect(Object.keys(document).sort()).toEqual([
    'capturedAt',
    'counts',
    'format',
    'modelVersion',
    'predictions',
    'requestId',
  ]);
  const text = readFileSync(path, 'utf8');
  for (const r of records) {
    for (const v of Object.values(r)) if (v !== null && String(v).length > 6) expect(text).not.toContain(String(v));
  }
  // The next request starts from zero: its counts are its own.
  await captureOutput(() => handler(request({ record: records[0], key: KEY }), context));
  expect(
    captures()
      .map((c) => c.document.counts!.records)
      .sort(),
  ).toEqual([1, 20]);
});

test('a key that is not a pseudonym is refused by position, and nothing is captured', async () => {
  const model = loadScoringModel({ modelUri: binary.files.tar, modelVersion: 'loans/7' });
  const handler = handlerFor(model);
  for (const [body, message] of [
    [{ records: records.slice(0, 2), keys: [KEY, 'customer-0042'] }, 'keys[1] is not a pseudonymous key'],
    [{ records: records.slice(0, 2), keys: [KEY] }, 'keys holds 1 keys for 2 records'],
    [{ record: records[0], key: 7 }, 'key is not a pseudonymous key'],
  ] as const) {
    const { result } = await captureOutput(() => handler(request(body), context));
    expect(result.statusCode).toBe(400);
    expect(result.body).toContain(message);
    expect(result.body).not.toContain('customer-0042');
  }
  expect(captures()).toEqual([]);
});

test('a capture that fails is counted and logged; the request is answered', async () => {
  const model = loadScoringModel({ modelUri: binary.files.tar, modelVersion: 'loans/7' });
  const failing = { write: () => Promise.reject(new Error('AccessDenied')) };
  const { result, output } = await captureOutput(() => handlerFor(model, failing)(request({ records }), context));
  expect(result.statusCode).toBe(200);
  expect(output).toContain('capture failed');
  expect(output).toContain('"CaptureErrors"');
});

test('a capture S3 never answers is given up after its timeout; the request is answered all the same', async () => {
  // An S3 endpoint that accepts connections and never replies.
  const stalled = createServer(() => undefined);
  await new Promise<void>((done) => stalled.listen(0, '127.0.0.1', done));
  const settings: Record<string, string> = {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`,
    AWS_REGION: 'eu-west-2',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
  };
  const saved = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
  Object.assign(process.env, settings);
  try {
    // A module registry of its own: the lazily made S3 client is made here, with this endpoint, whatever ran before.
    let isolated!: typeof CaptureModule;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module loaded inside isolateModules
      isolated = require('../../lambdas/monitoring/capture');
    });
    const model = loadScoringModel({ modelUri: binary.files.tar, modelVersion: 'loans/7' });
    const sink = isolated.captureSink('s3://mlp-capture/loans/', 300);
    const started = Date.now();
    const { result, output } = await captureOutput(() => handlerFor(model, sink)(request({ records }), context));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.statusCode).toBe(200);
    expect(output).toContain('capture failed');
    expect(output).toMatch(/s3:\/\/mlp-capture\/loans\/loans-7\/[^"]+ was not written within 300 ms/);
    expect(output).not.toContain('stand-in-secret');
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    stalled.closeAllConnections();
    await new Promise((done) => stalled.close(done));
  }
});

test.each([
  ['of another model version', () => writeBaseline('loans/6'), 'the baseline is of loans/6, not of loans/7'],
  [
    'that is not a baseline',
    () => (writeFileSync(join(dir, 'b.json'), '{"format": 1}'), join(dir, 'b.json')),
    'is not a drift baseline',
  ],
  ['that is missing', () => join(dir, 'none.json'), 'ENOENT'],
])('a baseline %s: served without counts, said once', async (_label, make, reason) => {
  const model = loadScoringModel({ modelUri: binary.files.tar, modelVersion: 'loans/7', baselineUri: make() });
  const handler = handlerFor(model);
  const { result, output } = await captureOutput(async () => {
    await handler(request({ records }), context);
    return handler(request({ records }), context);
  });
  expect(result.statusCode).toBe(200);
  expect(output.split('serving without drift counts').length - 1).toBe(1);
  expect(output).toContain(reason);
  expect(captures().map((c) => c.document.counts)).toEqual([undefined, undefined]);
});
