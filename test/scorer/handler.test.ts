import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SPEC_FORMAT } from '../../lambdas/features/feature-spec';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { loadScoringModel, type ScoringModel, type ScoringModelSource } from '../../lambdas/scorer/scoring-model';
import { captureOutput as captureStdout } from '../support/capture-output';
import { context } from '../support/lambda-context';
import { xgboostFixtures } from '../support/xgboost-fixtures';

type Handler = (event: unknown, ctx: typeof context) => Promise<Record<string, unknown>>;

const fixtures = xgboostFixtures();
const binary = fixtures.cases.find((c) => c.name === 'binary_logistic')!;
const multi = fixtures.cases.find((c) => c.name === 'multi_softprob')!;

/** A handler serving the model at `source` (loaded once, on first request). */
function loadHandler(source: ScoringModelSource): Handler {
  let model: Promise<ScoringModel> | undefined;
  return createScoringHandler(() => (model ??= loadScoringModel(source))) as unknown as Handler;
}

const restEvent = (body: string, method = 'POST') => ({
  resource: '/score',
  path: '/score',
  httpMethod: method,
  headers: { 'content-type': 'application/json' },
  body,
  isBase64Encoded: false,
  requestContext: { requestId: 'r1', stage: 'live' },
});

const predictor = new Predictor(readModel(readFileSync(binary.files.json)));
const expected = (row: number[]) => predictor.predict(Float32Array.from(row), 1, new Float64Array(1))[0];
const nan = Number.NaN;

describe('scoring handler', () => {
  const handler = loadHandler({ modelUri: binary.files.tar, modelVersion: 'loans-7' });

  test('scores a single record through API Gateway with the model version and request id', async () => {
    const record = { f0: 0.5, f1: -1.25, f3: 0.3, f7: 2, f11: 4 };
    const { result } = await captureStdout(() => handler(restEvent(JSON.stringify({ record })), context));
    expect(result.statusCode).toBe(200);
    expect((result.headers as Record<string, string>)['x-model-version']).toBe('loans-7');
    const body = JSON.parse(result.body as string);
    expect(body).toEqual({
      modelVersion: 'loans-7',
      requestId: context.awsRequestId,
      predictions: [expected([0.5, -1.25, nan, 0.3, nan, nan, nan, 2, nan, nan, nan, 4])],
    });
  });

  test('scores a batch of 1000 records by direct invocation, and refuses 1001 with 413', async () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ f0: i / 100, f7: i % 5 }));
    const { result } = await captureStdout(() => handler({ records }, context));
    expect(result.predictions).toHaveLength(1000);
    expect((result.predictions as number[])[123]).toBe(
      expected([1.23, nan, nan, nan, nan, nan, nan, 3, nan, nan, nan, nan]),
    );
    const { result: tooMany } = await captureStdout(() => handler({ records: [...records, {}] }, context));
    expect(tooMany).toMatchObject({ statusCode: 413, error: 'records holds more than 1000 records' });
  });

  test('accepts HTTP API (v2) events', async () => {
    const event = {
      version: '2.0',
      rawPath: '/score',
      body: '{"record":{"f0":1}}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' } },
    };
    const { result } = await captureStdout(() => handler(event, context));
    expect(result.statusCode).toBe(200);
  });

  test.each([
    ['an unknown field', '{"record":{"f1":2,"income":1}}', 400, 'records[0] field #2 is not a feature of this model'],
    ['a string for a number', '{"record":{"f0":"12"}}', 400, 'records[0].f0 must be a number or null'],
    ['a record that is not an object', '{"records":[{"f0":1},[1,2]]}', 400, 'records[1] is not an object'],
    ['invalid JSON', '{"records":[', 400, 'the body is not valid JSON'],
    ['an empty batch', '{"records":[]}', 400, 'records must hold at least one record'],
    [
      'an unexpected envelope',
      '{"rows":[]}',
      400,
      'the body must be {"records": [ {...}, ... ], "keys"?: [ ... ]} or {"record": {...}, "key"?: "..."}, ' +
        'with "explain"?: true and "reasons"?: N',
    ],
    ['a value beyond float32', '{"record":{"f0":1e39}}', 400, 'records[0].f0 is outside the float32 range'],
  ])('rejects %s with a precise 400', async (_label, body, status, message) => {
    const { result } = await captureStdout(() => handler(restEvent(body), context));
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body as string)).toEqual({
      statusCode: status,
      error: message,
      requestId: context.awsRequestId,
    });
  });

  test('refuses bodies over 256 KB with 413 and other methods with 405', async () => {
    const big = JSON.stringify({ records: [{ f0: 1 }], pad: 'x'.repeat(256 * 1024) });
    const { result } = await captureStdout(() => handler(restEvent(big), context));
    expect(result.statusCode).toBe(413);
    const { result: get } = await captureStdout(() => handler(restEvent('', 'GET'), context));
    expect(get.statusCode).toBe(405);
  });

  test('never echoes submitted values in responses or logs', async () => {
    const secret = 'GB29NWBK60161331926819';
    for (const body of [
      { record: { f0: secret } },
      { record: { [secret]: 1 } },
      { record: { f1: 1, nested: { iban: secret } } },
      { records: [{ f0: 1 }, secret] },
    ]) {
      const { result, output } = await captureStdout(() => handler(restEvent(JSON.stringify(body)), context));
      expect(result.statusCode).toBe(400);
      expect(String(result.body)).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
  });

  test('emits EMF metrics for requests, 5xx answers, records, latency, score distribution and bad requests', async () => {
    const { output } = await captureStdout(() => handler({ records: [{ f0: 1 }, { f0: 2 }] }, context));
    const emf = output
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l._aws);
    expect(emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual([
      'Requests',
      'Records',
      'Score',
      'Latency',
      'ServerErrors',
    ]);
    // Published for the function and for the version that answered: a canary is judged on its own counts.
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service'], ['service', 'FunctionVersion']]);
    expect(emf.FunctionVersion).toBe(context.functionVersion);
    expect({ requests: emf.Requests, serverErrors: emf.ServerErrors }).toEqual({ requests: 1, serverErrors: 0 });
    expect(emf.Records).toBe(2);
    expect(emf.Score).toHaveLength(2);
    const { output: bad } = await captureStdout(() => handler({ record: { zz: 1 } }, context));
    expect(bad).toContain('"BadRequests":1');
  });
});

describe('scoring handler with a feature spec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-spec-'));
  const specPath = join(dir, 'feature-spec.json');
  writeFileSync(
    specPath,
    JSON.stringify({
      format: FEATURE_SPEC_FORMAT,
      features: [
        { name: 'income', type: 'numeric' },
        { name: 'tenure', type: 'numeric' },
        { name: 'age', type: 'numeric' },
        { name: 'utilisation', type: 'numeric' },
        { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['north', 'south', 'west'] },
        { name: 'products', type: 'numeric' },
        { name: 'segment', type: 'categorical', encoding: 'ordinal', categories: ['a', 'b', 'c', 'd', 'e'] },
        ...['m1', 'm2', 'm3'].map((name) => ({ name, type: 'numeric' })),
      ],
    }),
  );
  const handler = loadHandler({ modelUri: binary.files.bin, featureSpecUri: specPath });

  test('one-hot, ordinal and unknown categories build the vector the spec defines', async () => {
    const records = [
      { income: 0.7, region: 'south', segment: 'c' },
      { income: 0.7, region: 'east', segment: 'zz' },
      { income: 0.7, region: null },
    ];
    const { result } = await captureStdout(() => handler({ records }, context));
    expect(result.error).toBeUndefined();
    expect(result.predictions).toEqual([
      expected([0.7, nan, nan, nan, 0, 1, 0, nan, 2, nan, nan, nan]),
      expected([0.7, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan]),
      expected([0.7, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan]),
    ]);
    const { result: wrongType } = await captureStdout(() => handler({ record: { region: 3 } }, context));
    expect(wrongType).toMatchObject({
      statusCode: 400,
      error: 'records[0].region must be a string (a category) or null',
    });
  });
});

describe('scoring handler for multi-class models', () => {
  const handler = loadHandler({ modelUri: multi.files.ubj });
  test('returns one probability vector per record', async () => {
    const { result } = await captureStdout(() => handler({ records: [{ f0: 1 }, { f2: -1 }] }, context));
    const predictions = result.predictions as number[][];
    expect(predictions).toHaveLength(2);
    for (const p of predictions) {
      expect(p).toHaveLength(3);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });
});

describe('scoring handler whose model cannot load', () => {
  const handler = loadHandler({ modelUri: '/nonexistent/model.tar.gz' });
  test('answers 503 without leaking the path', async () => {
    const { result, output } = await captureStdout(() => handler(restEvent('{"record":{}}'), context));
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body as string).error).toBe('the model is not available');
    expect(result.body).not.toContain('nonexistent');
    expect(output).toContain('scoring failed');
  });
});
