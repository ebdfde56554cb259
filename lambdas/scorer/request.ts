/**
 * Turns a Lambda event into scoring records: API Gateway REST (v1) and HTTP (v2) proxy events, or a direct
 * invocation whose event is the request body itself. Every rejection is an {@link HttpError} whose message
 * names the problem without repeating submitted values.
 */
import * as z from 'zod/mini'; // zod/mini: the scorer bundle stays small
import { PSEUDONYM_PATTERN } from '../../contracts/pseudonym';
import { MAX_REASONS } from '../../contracts/reason-codes';

/** Request body cap (bytes). */
export const MAX_BODY_BYTES = 256 * 1024;
/** Records per request. */
export const MAX_RECORDS = 1000;
/** Records per request that asks for explanations (each costs about a millisecond more). */
export const MAX_EXPLAINED_RECORDS = 100;
/** Reasons per explained decision when a request does not say. */
export const DEFAULT_REASONS = 4;

/** A client error with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const explainFields = { explain: z.optional(z.unknown()), reasons: z.optional(z.unknown()) };
const bodySchema = z.union([
  z.strictObject({ records: z.array(z.unknown()), keys: z.optional(z.array(z.unknown())), ...explainFields }),
  z.strictObject({ record: z.unknown(), key: z.optional(z.unknown()), ...explainFields }),
]);

/**
 * What a request asks to score: its records and, when given, each record's pseudonymous key; with `explain:
 * true`, how many adverse reasons each decision is given (`reasons`, default {@link DEFAULT_REASONS}).
 */
export interface ScoringRequest {
  readonly records: readonly unknown[];
  readonly keys?: readonly string[];
  readonly explain?: { readonly reasons: number };
}

/** True for an API Gateway proxy event (REST v1 or HTTP v2). */
export function isApiGatewayEvent(event: unknown): event is Record<string, unknown> {
  if (event === null || typeof event !== 'object') return false;
  const e = event as Record<string, unknown>;
  return typeof e.requestContext === 'object' && e.requestContext !== null && ('httpMethod' in e || 'rawPath' in e);
}

/** Extracts and validates the records (and keys) of an event. */
export function parseScoringEvent(event: unknown): ScoringRequest {
  if (!isApiGatewayEvent(event)) return recordsOf(event);
  const method = (event.httpMethod ?? (event.requestContext as { http?: { method?: string } }).http?.method) as string;
  if (method !== 'POST') throw new HttpError(405, 'use POST with a JSON body');
  const raw = event.body;
  if (typeof raw !== 'string' || raw.length === 0) throw new HttpError(400, 'the request has no body');
  // A text body is measured in place, not copied into a Buffer and decoded back on every request.
  const decoded = event.isBase64Encoded ? Buffer.from(raw, 'base64') : undefined;
  const size = decoded ? decoded.length : Buffer.byteLength(raw, 'utf8');
  if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body exceeds ${MAX_BODY_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded ? decoded.toString('utf8') : raw);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  return recordsOf(parsed);
}

function recordsOf(body: unknown): ScoringRequest {
  const result = bodySchema.safeParse(body);
  if (!result.success) {
    throw new HttpError(
      400,
      'the body must be {"records": [ {...}, ... ], "keys"?: [ ... ]} or {"record": {...}, "key"?: "..."}, ' +
        'with "explain"?: true and "reasons"?: N',
    );
  }
  const explain = explainOf(result.data.explain, result.data.reasons);
  const asked = explain ? { explain } : {};
  if (!('records' in result.data)) {
    const { record, key } = result.data;
    return key === undefined
      ? { records: [record], ...asked }
      : { records: [record], keys: checkKeys([key], 'key'), ...asked };
  }
  const { records, keys } = result.data;
  if (records.length === 0) throw new HttpError(400, 'records must hold at least one record');
  if (records.length > MAX_RECORDS) throw new HttpError(413, `records holds more than ${MAX_RECORDS} records`);
  if (explain && records.length > MAX_EXPLAINED_RECORDS) {
    throw new HttpError(413, `a request with explain: true holds at most ${MAX_EXPLAINED_RECORDS} records`);
  }
  if (keys === undefined) return { records, ...asked };
  if (keys.length !== records.length) {
    throw new HttpError(400, `keys holds ${keys.length} keys for ${records.length} records: give one per record`);
  }
  return { records, keys: checkKeys(keys, 'keys'), ...asked };
}

/** `explain` (a boolean) and `reasons` (an integer 1…MAX_REASONS, only with explain: true), or a 400. */
function explainOf(explain: unknown, reasons: unknown): ScoringRequest['explain'] {
  if (explain !== undefined && typeof explain !== 'boolean') throw new HttpError(400, 'explain must be true or false');
  if (reasons === undefined) return explain ? { reasons: DEFAULT_REASONS } : undefined;
  if (explain !== true) throw new HttpError(400, 'reasons is given without explain: true');
  if (typeof reasons !== 'number' || !Number.isInteger(reasons) || reasons < 1 || reasons > MAX_REASONS) {
    throw new HttpError(400, `reasons must be an integer from 1 to ${MAX_REASONS}`);
  }
  return { reasons };
}

/** Keys that are pseudonyms, or a 400 naming the first that is not (by position, never its text). */
function checkKeys(keys: readonly unknown[], field: string): string[] {
  keys.forEach((key, i) => {
    if (typeof key !== 'string' || !PSEUDONYM_PATTERN.test(key)) {
      const at = field === 'key' ? 'key' : `keys[${i}]`;
      throw new HttpError(400, `${at} is not a pseudonymous key (64 lowercase hex characters, as the agent writes)`);
    }
  });
  return keys as string[];
}
