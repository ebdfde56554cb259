/**
 * Turns a Lambda event into scoring records: API Gateway REST (v1) and HTTP (v2) proxy events, or a direct
 * invocation whose event is the request body itself. Every rejection is an {@link HttpError} whose message
 * names the problem without repeating submitted values.
 */
import * as z from 'zod/mini'; // zod/mini: the scorer bundle stays small
import { PSEUDONYM_PATTERN } from '../../contracts/pseudonym';

/** Request body cap (bytes). */
export const MAX_BODY_BYTES = 256 * 1024;
/** Records per request. */
export const MAX_RECORDS = 1000;

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

const bodySchema = z.union([
  z.strictObject({ records: z.array(z.unknown()), keys: z.optional(z.array(z.unknown())) }),
  z.strictObject({ record: z.unknown(), key: z.optional(z.unknown()) }),
]);

/** What a request asks to score: its records and, when given, each record's pseudonymous key. */
export interface ScoringRequest {
  readonly records: readonly unknown[];
  readonly keys?: readonly string[];
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
      'the body must be {"records": [ {...}, ... ], "keys"?: [ ... ]} or {"record": {...}, "key"?: "..."}',
    );
  }
  if (!('records' in result.data)) {
    const { record, key } = result.data;
    return key === undefined ? { records: [record] } : { records: [record], keys: checkKeys([key], 'key') };
  }
  const { records, keys } = result.data;
  if (records.length === 0) throw new HttpError(400, 'records must hold at least one record');
  if (records.length > MAX_RECORDS) throw new HttpError(413, `records holds more than ${MAX_RECORDS} records`);
  if (keys === undefined) return { records };
  if (keys.length !== records.length) {
    throw new HttpError(400, `keys holds ${keys.length} keys for ${records.length} records: give one per record`);
  }
  return { records, keys: checkKeys(keys, 'keys') };
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
