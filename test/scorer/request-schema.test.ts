/**
 * The request schema says what the handler does: a JSON Schema validator (Ajv, draft 4 as API Gateway reads the
 * request model, 2020-12 as OpenAPI 3.1 reads /openapi.json) accepts exactly the bodies the scoring handler
 * scores, and refuses exactly those it answers 400, for the schema with the model's categories and for the one CDK
 * builds before any are known.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import AjvDraft04 from 'ajv-draft-04';
import { FEATURE_SPEC_FORMAT } from '../../lambdas/features/feature-spec';
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { MAX_RECORDS } from '../../lambdas/scorer/request';
import { type RequestFeature, scoringRequestSchema } from '../../lambdas/scorer/request-schema';
import { loadScoringModel, type ScoringModel } from '../../lambdas/scorer/scoring-model';
import { captureOutput } from '../support/capture-output';
import { context } from '../support/lambda-context';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const binary = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
const numeric = Array.from({ length: 10 }, (_, i) => ({ name: `x${i}`, type: 'numeric' as const }));
const categories = ['retail', 'sme'];
const withCategories: RequestFeature[] = [...numeric, { name: 'segment', type: 'categorical', categories }];
const namesOnly: RequestFeature[] = [...numeric, { name: 'segment', type: 'categorical' }];

const specPath = join(mkdtempSync(join(tmpdir(), 'mlp-schema-')), 'feature-spec.json');
writeFileSync(
  specPath,
  JSON.stringify({
    format: FEATURE_SPEC_FORMAT,
    features: [...numeric, { name: 'segment', type: 'categorical', encoding: 'one-hot', categories }],
    explanations: {
      adverse: 'higher',
      reasons: Object.fromEntries(
        [...numeric.map((f) => f.name), 'segment'].map((name) => [name, { code: name.toUpperCase(), text: name }]),
      ),
    },
  }),
);
let model: Promise<ScoringModel> | undefined;
const handler = createScoringHandler(
  () => (model ??= loadScoringModel({ modelUri: binary.files.tar, featureSpecUri: specPath })),
);

/** The status the handler answers a body with, as API Gateway would pass it. */
async function statusOf(body: unknown): Promise<number> {
  const event = {
    resource: '/score',
    path: '/score',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: 'r', stage: 'live' },
  };
  const { result } = await captureOutput(() => handler(event, context) as Promise<{ statusCode: number }>);
  return result.statusCode;
}

const record = { x0: 1.5, x3: null, segment: 'sme' };
const BODIES: Record<string, unknown> = {
  'one record': { record },
  'several records': { records: [record, { x1: -2 }, {}] },
  'an unknown category (scored as missing)': { record: { ...record, segment: 'corporate' } },
  'a null category': { record: { segment: null } },
  'a number as a category': { record: { segment: 3 } },
  'a string as a number': { record: { x0: '1.5' } },
  'a boolean as a number': { record: { x0: true } },
  'a number beyond float32': { record: { x0: 1e39 } },
  'the largest float32': { record: { x0: -3.4028234663852886e38 } },
  'an unknown field': { record: { ...record, income: 1 } },
  'a record that is not an object': { records: [record, 7] },
  'an array as a record': { record: [1, 2] },
  'no records': { records: [] },
  'records and record': { records: [record], record },
  neither: { rows: [record] },
  'records not an array': { records: record },
  'an extra top-level field': { record, explained: true },
  'explain: true': { record, explain: true },
  'explain: false': { records: [record], explain: false },
  'explain with reasons': { records: [record], keys: ['a'.repeat(64)], explain: true, reasons: 10 },
  'explain as a string': { record, explain: 'yes' },
  'reasons without explain': { record, reasons: 2 },
  'reasons beyond the cap': { record, explain: true, reasons: 11 },
  'reasons not an integer': { record, explain: true, reasons: 1.5 },
  'no reasons': { record, explain: true, reasons: 0 },
  'exactly the cap': { records: Array.from({ length: MAX_RECORDS }, () => record) },
};

describe.each([
  ['the model schema (with categories)', withCategories],
  ['the CDK schema (names only)', namesOnly],
])('%s', (_name, features) => {
  const schema = scoringRequestSchema(features);
  const draft04 = new AjvDraft04({ strict: false }).compile({
    $schema: 'http://json-schema.org/draft-04/schema#',
    ...schema,
  });
  const draft2020 = new Ajv2020({ strict: false }).compile(schema);

  test.each(Object.keys(BODIES))('%s: the schema and the handler agree', async (name) => {
    const body = BODIES[name];
    const status = await statusOf(body);
    expect([200, 400]).toContain(status);
    expect({ name, draft04: draft04(body), draft2020: draft2020(body) }).toEqual({
      name,
      draft04: status === 200,
      draft2020: status === 200,
    });
  });
});

test('beyond the cap the handler answers 413, which the schema leaves to it (a schema failure would be 400)', async () => {
  const body = { records: Array.from({ length: MAX_RECORDS + 1 }, () => ({ x0: 1 })) };
  expect(await statusOf(body)).toBe(413);
  expect(new Ajv2020({ strict: false }).validate(scoringRequestSchema(withCategories), body)).toBe(true);
});
