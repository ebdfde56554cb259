/**
 * `mlp serve`: runs the scoring Lambda handler behind a local HTTP server on 127.0.0.1, the same code that
 * serves in AWS, with API Gateway's request/response translation done locally.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { currentModel, handler } from '../../lambdas/scorer/handler';
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
      if (options.model) process.env.MODEL_URI = resolve(options.model);
      if (options.spec) process.env.FEATURE_SPEC_URI = resolve(options.spec);
      if (options.modelVersion) process.env.MODEL_VERSION = options.modelVersion;
      if (!process.env.MODEL_URI) throw new UsageError('give --model PATH (or set MODEL_URI)');
      process.env.POWERTOOLS_SERVICE_NAME ??= 'mlp-scorer-local';
      const model = await currentModel();
      const running = await startLambdaHttpServer(handler as never, {
        port,
        maxBodyBytes: 256 * 1024,
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
