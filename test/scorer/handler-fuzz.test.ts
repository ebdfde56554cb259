/**
 * Fuzzes the scoring handler with random and adversarial bodies and events: every answer is 2xx or 4xx,
 * never 5xx; no response or log contains a planted marker value; nothing pollutes prototypes; and the
 * container keeps serving afterwards.
 */
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { loadScoringModel, type ScoringModel } from '../../lambdas/scorer/scoring-model';
import { captureOutput } from '../support/capture-output';
import { context } from '../support/lambda-context';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const fixture = xgboostFixtures().cases.find((c) => c.name === 'multi_softprob')!;
let model: Promise<ScoringModel> | undefined;
const handler = createScoringHandler(
  () => (model ??= loadScoringModel({ modelUri: fixture.files.tar })),
) as unknown as (
  event: unknown,
  ctx: typeof context,
) => Promise<{ statusCode?: number; body?: string; predictions?: unknown }>;

const MARKER = 'MRK7731';
let seed = 20261128;
const random = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
  return seed / 2 ** 32;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

function value(depth: number): unknown {
  const kind = Math.floor(random() * (depth > 3 ? 8 : 11));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return pick([0, -0, 1e308, -1e308, 5e-324, 3.5e38, 1e39, 123456789012345680000, Number.MAX_SAFE_INTEGER]);
    case 3:
      return (random() - 0.5) * 10 ** Math.floor(random() * 12);
    case 4:
      return pick(['NaN', 'Infinity', '-Infinity', '1e999', '', MARKER, `${MARKER}\u0000`, `\ud800${MARKER}`, '𝔘𝔫𝔦']);
    case 5:
      return MARKER.repeat(Math.floor(random() * 50));
    case 6:
      return Math.floor(random() * 10);
    case 7:
      return `${MARKER}-${Math.floor(random() * 1e6)}`;
    case 8:
      return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1));
    default:
      return record(depth + 1);
  }
}

const KEYS = [
  'f0',
  'f1',
  'f5',
  'f11',
  'f12',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  MARKER,
  '',
  'f0 ',
  'F0',
];
function record(depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(random() * 6);
  for (let i = 0; i < n; i++)
    Object.defineProperty(out, pick(KEYS), {
      value: value(depth),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  return out;
}

function body(): string {
  switch (Math.floor(random() * 9)) {
    case 0:
      return JSON.stringify({
        records: Array.from({ length: Math.floor(random() * 20) }, () => (random() < 0.8 ? record(0) : value(0))),
      });
    case 1:
      return JSON.stringify({ record: random() < 0.7 ? record(0) : value(0) });
    case 2:
      return '['.repeat(50_000 + Math.floor(random() * 50_000)) + ']'.repeat(10);
    case 3:
      return JSON.stringify({ records: Array.from({ length: 1001 + Math.floor(random() * 3000) }, () => ({ f0: 1 })) });
    case 4:
      return `{"records":[{"__proto__":{"polluted":"${MARKER}"},"f0":1}],"constructor":{"prototype":{"polluted":1}}}`;
    case 5:
      return Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256))).toString(
        'latin1',
      );
    case 6:
      return `{"record":{"f0":${pick(['NaN', 'Infinity', '-Infinity', '1e400', '0x10', '01', '.5', '-'])}}}`;
    case 7:
      return JSON.stringify({ records: [{ f0: 1 }], extra: MARKER });
    default:
      return JSON.stringify(value(0));
  }
}

function event(): unknown {
  const b = body();
  switch (Math.floor(random() * 6)) {
    case 0:
      return { httpMethod: 'POST', body: Buffer.from(b).toString('base64'), isBase64Encoded: true, requestContext: {} };
    case 1:
      return {
        version: '2.0',
        rawPath: '/score',
        body: b,
        requestContext: { http: { method: pick(['POST', 'GET', 'PUT']) } },
      };
    case 2:
      return { httpMethod: 'POST', body: random() < 0.5 ? null : 12, requestContext: {} };
    case 3:
      try {
        return JSON.parse(b);
      } catch {
        return b;
      }
    case 4:
      return pick([
        null,
        undefined,
        0,
        'x',
        [],
        [MARKER],
        { requestContext: null },
        { httpMethod: 'POST', requestContext: 'x' },
      ]);
    default:
      return { httpMethod: 'POST', body: b, isBase64Encoded: false, requestContext: {} };
  }
}

test('2000 adversarial requests: only 2xx/4xx, no echo, no pollution, still serving', async () => {
  const statuses = new Map<number, number>();
  for (let i = 0; i < 2000; i++) {
    const e = event();
    const { result, output } = await captureOutput(() => handler(e, context));
    const status = result.statusCode ?? (result.predictions ? 200 : -1);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    expect({ i, status: status >= 200 && status < 500 }).toEqual({ i, status: true });
    const text = JSON.stringify(result);
    expect({ i, echoed: text.includes(MARKER) || output.includes(MARKER) }).toEqual({ i, echoed: false });
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 405, 413]));
  const { result } = await captureOutput(() => handler({ records: [{ f0: 1 }] }, context));
  expect(result.predictions).toHaveLength(1);
});
