/**
 * Inference capture: one document per scoring request, written by the scorer to the capture bucket (locally,
 * a directory) under the model version, day and hour: the request's drift counts and its predictions, each
 * with the record's pseudonymous key when the caller gave one. Never a feature value: the drift job needs only
 * the counts, the quality job only scores and keys.
 *
 * ```json
 * { "format": "mlp.capture/1", "modelVersion": "mlp-dev-loans/3", "requestId": "…",
 *   "capturedAt": "2026-12-02T10:00:00.000Z", "counts": { "format": "mlp.drift-counts/1", … },
 *   "predictions": [ { "key": "3f…", "score": 0.12 }, { "score": 0.4 } ] }
 * ```
 */
import * as z from 'zod/mini';
import { PSEUDONYM_PATTERN } from '../../contracts/pseudonym';
import { capture } from '../../contracts/s3-layout';
import { describeIssues } from '../../contracts/describe-issues';
import { writeObject } from '../commons/object-io';
import { type DriftCounts, parseDriftCounts } from './drift-counts';

/** Identifier of the capture format. */
export const CAPTURE_FORMAT = 'mlp.capture/1';

/** One captured prediction: the score (a vector for multi-class models) and the record's pseudonymous key. */
export interface CapturedPrediction {
  readonly key?: string;
  readonly score: number | readonly number[];
}

/** What one scoring request leaves in the capture bucket. */
export interface CaptureDocument {
  readonly format: typeof CAPTURE_FORMAT;
  readonly modelVersion: string;
  readonly requestId: string;
  readonly capturedAt: string;
  /** The request's drift counts; absent when the model has no baseline. */
  readonly counts?: DriftCounts;
  readonly predictions: readonly CapturedPrediction[];
}

/** Where a scorer writes its captures. */
export interface CaptureSink {
  write(document: CaptureDocument): Promise<void>;
}

/**
 * Longest a request waits for its capture (the S3 PUT and its retries): an in-region PUT through the gateway
 * endpoint takes tens of milliseconds, so this bounds only a stalled one, which is then counted as a capture error
 * and the request answered.
 */
export const CAPTURE_TIMEOUT_MS = 500;

/**
 * A sink under a prefix URI (`s3://bucket/<dataset>/`, or a local directory): each document at its
 * {@link capture.documentKey} below it, given up after `timeoutMs`.
 */
export function captureSink(prefixUri: string, timeoutMs = CAPTURE_TIMEOUT_MS): CaptureSink {
  const prefix = prefixUri.endsWith('/') ? prefixUri : `${prefixUri}/`;
  return {
    write: (document) =>
      writeObject(
        `${prefix}${capture.documentKey(document.modelVersion, new Date(document.capturedAt), document.requestId)}`,
        JSON.stringify(document),
        { timeoutMs },
      ),
  };
}

/** The sink the scorer's environment names (CAPTURE_URI), or none. */
export function captureSinkFromEnvironment(env: NodeJS.ProcessEnv = process.env): CaptureSink | undefined {
  return env.CAPTURE_URI ? captureSink(env.CAPTURE_URI) : undefined;
}

function buildSchema() {
  const score = z.number().check(z.refine(Number.isFinite, 'must be finite'));
  return z.looseObject({
    format: z.literal(CAPTURE_FORMAT),
    modelVersion: z.string().check(z.minLength(1), z.maxLength(200)),
    requestId: z.string().check(z.maxLength(200)),
    capturedAt: z.iso.datetime(),
    counts: z.optional(z.unknown()),
    predictions: z.array(
      z.strictObject({
        key: z.optional(z.string().check(z.regex(PSEUDONYM_PATTERN))),
        score: z.union([score, z.array(score)]),
      }),
    ),
  });
}

let schema: ReturnType<typeof buildSchema> | undefined;

/** A capture document that cannot be read. */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

/** Reads a capture document's text; errors name `where` and the field, never a value. */
export function parseCapture(text: string, where: string): CaptureDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new CaptureError(`${where} is not valid JSON`);
  }
  schema ??= buildSchema();
  const result = schema.safeParse(document, { reportInput: true });
  if (!result.success) {
    throw new CaptureError(`${where} is not a capture: ${describeIssues(result.error.issues).slice(0, 5).join('; ')}`);
  }
  const counts = result.data.counts === undefined ? undefined : parseDriftCounts(result.data.counts, `${where} counts`);
  if (counts && counts.modelVersion !== result.data.modelVersion) {
    throw new CaptureError(
      `${where} holds counts of ${counts.modelVersion} in a capture of ${result.data.modelVersion}`,
    );
  }
  return { ...(result.data as unknown as CaptureDocument), ...(counts ? { counts } : {}) };
}
