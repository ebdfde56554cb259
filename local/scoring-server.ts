/**
 * The local scoring service behind `mlp serve` and the demo: the scoring Lambda handler on 127.0.0.1 as API
 * Gateway would call it (`POST /score`), with `GET /health`, `GET /version`, `GET /openapi.json` (the API
 * described from the served model's feature spec: the same request schema as the private API's model) and
 * `GET /metrics` (Prometheus: requests, latency, the current window's PSI per feature). The
 * handler's Powertools logs and EMF metrics go to a file, not to the terminal.
 */
import { SCORER_SERVICE } from '../contracts/scorer-metrics';
import { createScoringHandler } from '../lambdas/scorer/handler';
import { MAX_BODY_BYTES } from '../lambdas/scorer/request';
import { type JsonSchema, type RequestFeature, scoringRequestSchema } from '../lambdas/scorer/request-schema';
import type { ScoringModel } from '../lambdas/scorer/scoring-model';
import packageJson from '../package.json';
import { powertoolsToFile } from './lambda-log-file';
import { captureSink } from '../lambdas/monitoring/capture';
import type { DriftOptions } from '../lambdas/monitoring/drift-report';
import type { Context } from 'aws-lambda';
import { ScorerMetricsEndpoint } from './scorer-metrics-endpoint';
import { type RouteAnswer, type RunningServer, startLambdaHttpServer } from './lambda-http-server';

/** Options of {@link startLocalScorer}. */
export interface LocalScorerOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** File the handler's structured logs and EMF metrics are appended to. */
  readonly logFile: string;
  /** Where each request's capture goes (a directory: the local capture bucket's dataset prefix); none: nothing. */
  readonly captureDir?: string;
  /** How `/metrics` judges the current window's drift (the environment's driftPsi and driftMinRecords). */
  readonly drift?: DriftOptions;
}

/** Starts the service; `close()` drains in-flight requests, then closes the log file. */
export async function startLocalScorer(
  model: () => Promise<ScoringModel>,
  options: LocalScorerOptions,
): Promise<RunningServer & { readonly logFile: string }> {
  const files = powertoolsToFile(options.logFile, SCORER_SERVICE);
  const metrics = new ScorerMetricsEndpoint(model, options.drift ?? { psiThreshold: 0.2, minRecords: 1 });
  const capture = metrics.tee(options.captureDir ? captureSink(options.captureDir) : undefined);
  const observability = { ...files, capture };
  const scoring = createScoringHandler(model, observability);
  const handler = async (event: unknown, context: Context) => {
    const started = performance.now();
    const response = (await scoring(event, context)) as { statusCode?: number };
    metrics.observe(response.statusCode ?? 200, (performance.now() - started) / 1000);
    return response;
  };
  const current = async (): Promise<ScoringModel | Error> => model().catch((error: Error) => error);
  const unavailable = (error: Error): RouteAnswer => ({
    statusCode: 503,
    body: { status: 'unavailable', error: `the model is not available: ${error.message}` },
  });
  const running = await startLambdaHttpServer(handler, {
    port: options.port,
    maxBodyBytes: MAX_BODY_BYTES,
    functionName: 'mlp-scorer-local',
    route: { method: 'POST', path: '/score' },
    getRoutes: {
      '/health': async () => {
        const loaded = await current();
        if (loaded instanceof Error) return unavailable(loaded);
        return { statusCode: 200, body: { status: 'ok', modelVersion: loaded.version } };
      },
      '/version': async () => {
        const loaded = await current();
        if (loaded instanceof Error) return unavailable(loaded);
        return { statusCode: 200, body: versionOf(loaded) };
      },
      '/metrics': async () => ({
        statusCode: 200,
        body: await metrics.registry.metrics(),
        contentType: metrics.registry.contentType,
      }),
      '/openapi.json': async () => {
        const loaded = await current();
        if (loaded instanceof Error) return unavailable(loaded);
        return { statusCode: 200, body: scoringOpenApi(loaded) };
      },
    },
  }).catch(async (error: unknown) => {
    await observability.close();
    throw error;
  });
  return {
    ...running,
    logFile: options.logFile,
    close: async () => {
      await running.close();
      await observability.close();
    },
  };
}

/** What `GET /version` answers. */
export function versionOf(model: ScoringModel) {
  return {
    modelVersion: model.version,
    modelSha256: model.provenance.modelSha256,
    featureSpecSha256: model.provenance.featureSpecSha256,
    objective: model.predictor.model.objective,
    trees: model.predictor.model.numTrees,
    features: model.spec.features.length,
    codeVersion: `${packageJson.name}@${packageJson.version}`,
  };
}

/** The features of a spec as the request schema needs them. */
export function requestFeatures(model: ScoringModel): RequestFeature[] {
  return model.spec.features.map((f) =>
    f.type === 'numeric'
      ? { name: f.name, type: 'numeric' }
      : { name: f.name, type: 'categorical', categories: f.categories },
  );
}

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** The OpenAPI 3.1 description of the service for the served model. */
export function scoringOpenApi(model: ScoringModel) {
  const predictions: JsonSchema =
    model.predictor.outputWidth === 1
      ? { type: 'array', items: { type: 'number' } }
      : { type: 'array', items: { type: 'array', items: { type: 'number' } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'mlp scorer (local)',
      version: packageJson.version,
      description:
        `Scores records with ${model.version}. The private API of each environment takes the same requests ` +
        '(SigV4-signed, IAM auth). Unknown fields and wrong types are refused with 400, naming the record ' +
        'and field; a category the model does not know scores as missing.',
    },
    servers: [{ url: '/' }],
    paths: {
      '/score': {
        post: {
          operationId: 'score',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ScoringRequest' } } },
          },
          responses: {
            '200': {
              description: 'one prediction per record (a probability vector per record for multi-class models)',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ScoringResponse' } } },
            },
            '400': error('the request is not valid; the message names the record and field, never the value'),
            '413': error(`the body exceeds ${MAX_BODY_BYTES} bytes, or holds too many records`),
            '503': error('no model is available'),
          },
        },
      },
      '/health': {
        get: {
          operationId: 'health',
          responses: { '200': { description: 'the model is loaded' }, '503': { description: 'no model is available' } },
        },
      },
      '/version': {
        get: {
          operationId: 'version',
          responses: { '200': { description: 'model version, feature spec and model hashes, code version' } },
        },
      },
    },
    components: {
      schemas: {
        ScoringRequest: scoringRequestSchema(requestFeatures(model)),
        ScoringResponse: {
          type: 'object',
          required: ['modelVersion', 'requestId', 'predictions'],
          properties: { modelVersion: { type: 'string' }, requestId: { type: 'string' }, predictions },
        },
        Error: {
          type: 'object',
          required: ['statusCode', 'error', 'requestId'],
          properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, requestId: { type: 'string' } },
        },
      },
    },
  };
}
