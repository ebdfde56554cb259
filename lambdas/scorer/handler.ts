/**
 * The scoring Lambda: a thin middy handler that parses the request, scores it with the model loaded once per
 * container, and shapes the response. Logs and metrics go through Powertools (structured JSON logs, EMF
 * metrics: Requests and ServerErrors for every invocation, Latency, Records, BadRequests, Errors and the score
 * distribution), each published twice: for the whole function and for the version that answered
 * (`FunctionVersion` dimension), which is what a canary is judged on. Records' values are never logged or echoed.
 * With a capture sink, every answered request leaves one capture document (monitoring/capture.ts): the drift
 * counts of its records against the model's baseline and its predictions with their pseudonymous keys. A
 * capture that fails is counted (CaptureErrors) and logged; the request is answered all the same. A request
 * with `explain: true` also gets each record's strongest adverse reasons (decision-reasons.ts; counted as
 * Explained); a model that cannot explain answers it 501, naming why.
 *
 * Environment: MODEL_URI (with FEATURE_SPEC_URI, MODEL_VERSION, MODEL_SHA256, BASELINE_URI) or
 * CHAMPION_POINTER_URI, CAPTURE_URI (where captures go), and POWERTOOLS_* settings.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { SCORER_METRIC, SCORER_SERVICE, VERSION_DIMENSION } from '../../contracts/scorer-metrics';
import { RecordError } from '../features/vectorizer';
import { HttpError, isApiGatewayEvent, parseScoringEvent } from './request';
import { loadChampionModel, loadScoringModel, type ScoringModel } from './scoring-model';
import type { DecisionReason } from './decision-reasons';
import { CAPTURE_FORMAT, type CaptureSink, captureSinkFromEnvironment } from '../monitoring/capture';

const logger = new Logger({ serviceName: SCORER_SERVICE });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'mlp',
  serviceName: SCORER_SERVICE,
});

/** Score values sampled into the distribution metric per request (EMF allows 100 values per metric). */
const SCORE_SAMPLES = 100;

let environmentModel: Promise<ScoringModel> | undefined;

/**
 * The container's model, loaded once: MODEL_URI (with FEATURE_SPEC_URI, MODEL_VERSION, MODEL_SHA256) when set,
 * as on versions a retraining Deploy publishes; else the champion pointer at CHAMPION_POINTER_URI.
 */
export function currentModel(): Promise<ScoringModel> {
  if (!environmentModel) {
    const modelUri = process.env.MODEL_URI;
    const pointerUri = process.env.CHAMPION_POINTER_URI;
    if (!modelUri && !pointerUri) return Promise.reject(new Error('neither MODEL_URI nor CHAMPION_POINTER_URI is set'));
    environmentModel = modelUri
      ? loadScoringModel({
          modelUri,
          featureSpecUri: process.env.FEATURE_SPEC_URI || undefined,
          modelVersion: process.env.MODEL_VERSION || undefined,
          modelSha256: process.env.MODEL_SHA256 || undefined,
          baselineUri: process.env.BASELINE_URI || undefined,
        })
      : loadChampionModel(pointerUri!);
    environmentModel.catch(() => undefined); // surfaced by the first request, not as an unhandled rejection
  }
  return environmentModel;
}

// In Lambda, start loading during the init phase; elsewhere (mlp serve, tests) on first use.
if (process.env.AWS_LAMBDA_FUNCTION_NAME && (process.env.MODEL_URI || process.env.CHAMPION_POINTER_URI)) {
  void currentModel();
}

/** Response of a direct invocation, or the body of an API Gateway response. */
export type ScoringResponse =
  | {
      modelVersion: string;
      requestId: string;
      predictions: number[] | number[][];
      /** With explain: true, per record its strongest adverse reasons. */
      explanations?: { reasons: DecisionReason[] }[];
    }
  | { statusCode: number; error: string; requestId: string };

/** API Gateway proxy response. */
interface ProxyResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Where a handler's structured logs, EMF metrics and captures go. */
export interface ScorerObservability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Where each answered request's capture is written (none: nothing is captured). */
  readonly capture?: CaptureSink;
}

/**
 * Builds the handler around a model source (the deployed one uses {@link currentModel}). Logs and metrics go
 * to stdout as in Lambda, unless `observability` brings its own (the local server writes them to a file).
 */
export function createScoringHandler(
  model: () => Promise<ScoringModel>,
  observability: ScorerObservability = { logger, metrics, capture: captureSinkFromEnvironment() },
) {
  const score = (event: unknown, context: Context) => scoreEvent(model, event, context, observability);
  return middy(score)
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(logMetrics(observability.metrics, { throwOnEmptyMetrics: false }));
}

async function scoreEvent(
  model: () => Promise<ScoringModel>,
  event: unknown,
  context: Context,
  observability: ScorerObservability,
): Promise<ScoringResponse | ProxyResponse> {
  const { metrics } = observability;
  // Two dimension sets: `service` alone (an empty set projects to the default dimensions; without it Powertools
  // would publish only the version's) and `service` with the version that answered.
  metrics.addDimensions({});
  metrics.addDimensions({ [VERSION_DIMENSION]: context.functionVersion || '$LATEST' });
  metrics.addMetric(SCORER_METRIC.requests, MetricUnit.Count, 1);
  const response = await answer(model, event, context, observability);
  const status = 'statusCode' in response ? response.statusCode : 200;
  metrics.addMetric(SCORER_METRIC.serverErrors, MetricUnit.Count, status >= 500 ? 1 : 0);
  return response;
}

/** The response to one request, with its metrics other than the request and 5xx counts. */
async function answer(
  model: () => Promise<ScoringModel>,
  event: unknown,
  context: Context,
  { logger, metrics, capture }: ScorerObservability,
): Promise<ScoringResponse | ProxyResponse> {
  const started = performance.now();
  const requestId = context.awsRequestId;
  const viaApiGateway = isApiGatewayEvent(event);
  try {
    const { records, keys, explain } = parseScoringEvent(event);
    const loaded = await loadedModel(model);
    if (explain && loaded.explainProblem) {
      throw new HttpError(501, `this model cannot explain its decisions: ${loaded.explainProblem}`);
    }
    if (loaded.baselineProblem && !warnedBaselines.has(loaded)) {
      warnedBaselines.add(loaded);
      logger.warn('serving without drift counts', { modelVersion: loaded.version, reason: loaded.baselineProblem });
    }
    const predictions = loaded.score(records);
    const explanations = explain ? loaded.explain(records, explain.reasons).map((reasons) => ({ reasons })) : undefined;
    if (explanations) metrics.addMetric('Explained', MetricUnit.Count, records.length);
    if (capture) await captured(capture, loaded, requestId, predictions, keys, { logger, metrics });
    metrics.addMetric('Records', MetricUnit.Count, records.length);
    for (let i = 0; i < Math.min(SCORE_SAMPLES, predictions.length); i++) {
      const p = predictions[i];
      metrics.addMetric('Score', MetricUnit.NoUnit, Array.isArray(p) ? p[0] : p);
    }
    metrics.addMetric('Latency', MetricUnit.Milliseconds, performance.now() - started);
    logger.info('scored', { records: records.length, modelVersion: loaded.version });
    const body = { modelVersion: loaded.version, requestId, predictions, ...(explanations ? { explanations } : {}) };
    return respond(viaApiGateway, 200, body, loaded.version);
  } catch (error) {
    if (error instanceof HttpError || error instanceof RecordError) {
      const status = error instanceof HttpError ? error.statusCode : 400;
      metrics.addMetric('BadRequests', MetricUnit.Count, 1);
      logger.warn('rejected request', { status, reason: error.message });
      return respond(viaApiGateway, status, { statusCode: status, error: error.message, requestId });
    }
    metrics.addMetric('Errors', MetricUnit.Count, 1);
    logger.error('scoring failed', { errorName: (error as Error)?.name, errorMessage: (error as Error)?.message });
    const unavailable = error instanceof ModelUnavailable;
    const status = unavailable ? 503 : 500;
    const message = unavailable ? 'the model is not available' : 'internal error';
    return respond(viaApiGateway, status, { statusCode: status, error: message, requestId });
  }
}

class ModelUnavailable extends Error {}

/** Models whose unusable baseline was already logged (once per loaded model, not per request). */
const warnedBaselines = new WeakSet<ScoringModel>();

/** Writes the request's capture; a failure is counted and logged, never answered to the caller. */
async function captured(
  sink: CaptureSink,
  model: ScoringModel,
  requestId: string,
  predictions: number[] | number[][],
  keys: readonly string[] | undefined,
  { logger, metrics }: Pick<ScorerObservability, 'logger' | 'metrics'>,
): Promise<void> {
  const counts = model.drift?.take();
  try {
    await sink.write({
      format: CAPTURE_FORMAT,
      modelVersion: model.version,
      requestId,
      capturedAt: new Date().toISOString(),
      ...(counts ? { counts } : {}),
      predictions: predictions.map((score, i) => (keys ? { key: keys[i], score } : { score })),
    });
  } catch (error) {
    metrics.addMetric('CaptureErrors', MetricUnit.Count, 1);
    logger.warn('capture failed', { errorName: (error as Error)?.name, errorMessage: (error as Error)?.message });
  }
}

async function loadedModel(model: () => Promise<ScoringModel>): Promise<ScoringModel> {
  try {
    return await model();
  } catch (error) {
    throw new ModelUnavailable((error as Error).message, { cause: error });
  }
}

function respond(
  viaApiGateway: boolean,
  statusCode: number,
  body: ScoringResponse,
  modelVersion?: string,
): ScoringResponse | ProxyResponse {
  if (!viaApiGateway) return body;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (modelVersion) headers['x-model-version'] = modelVersion;
  return { statusCode, headers, body: JSON.stringify(body) };
}

/** The Lambda entry point: the model named by the environment. */
export const handler = createScoringHandler(currentModel);
