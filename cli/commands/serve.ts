/**
 * `mlp serve`: runs the scoring Lambda handler behind a local HTTP server on 127.0.0.1, the same code that
 * serves in AWS, with API Gateway's request/response translation done locally.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { MAX_BODY_BYTES } from '../../lambdas/scorer/request';
import { loadScoringModel } from '../../lambdas/scorer/scoring-model';
import { startLambdaHttpServer } from '../../local/lambda-http-server';
import { UsageError } from '../usage-error';
import { parsePort } from './options';

/** Registers `mlp serve`. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a model over HTTP on 127.0.0.1 with the scoring Lambda handler (POST /score)')
    .option('--model <path>', 'model.tar.gz, xgboost-model, .json or .ubj (default: $MODEL_URI)')
    .option('--spec <path>', 'feature-spec.json (default: $FEATURE_SPEC_URI, else numeric features f0…)')
    .option('--model-version <label>', 'version reported with every prediction')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .action(async (options: { model?: string; spec?: string; modelVersion?: string; port: string }) => {
      const port = parsePort(options.port);
      const modelUri = options.model ? resolve(options.model) : process.env.MODEL_URI;
      if (!modelUri) throw new UsageError('give --model PATH (or set MODEL_URI)');
      const specUri = options.spec ? resolve(options.spec) : process.env.FEATURE_SPEC_URI;
      const model = await loadScoringModel({
        modelUri,
        featureSpecUri: specUri || undefined,
        modelVersion: options.modelVersion ?? (process.env.MODEL_VERSION || undefined),
        modelSha256: process.env.MODEL_SHA256 || undefined,
      });
      const handler = createScoringHandler(async () => model);
      const running = await startLambdaHttpServer(handler, {
        port,
        maxBodyBytes: MAX_BODY_BYTES,
        functionName: 'mlp-scorer-local',
      });
      const { objective, numTrees } = model.predictor.model;
      console.error(`mlp: serving model ${model.version} (${objective}, ${numTrees} trees) at ${running.url}/score`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await running.close();
    });
}
