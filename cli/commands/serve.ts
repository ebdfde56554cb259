/**
 * `mlp serve`: runs the scoring Lambda handler behind a local HTTP server on 127.0.0.1, the same code that
 * serves in AWS, with API Gateway's request/response translation done locally.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { MAX_BODY_BYTES } from '../../lambdas/scorer/request';
import { loadScoringModel, type ScoringModel } from '../../lambdas/scorer/scoring-model';
import { followLocalAlias } from '../../local/alias-model';
import { type RunningServer, startLambdaHttpServer } from '../../local/lambda-http-server';
import { localLayout, mlpHome } from '../../stepfunctions/local/local-home';
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
    .addHelpText(
      'after',
      '\nWithout --model or MODEL_URI it serves what mlp retrain --local deployed under $MLP_HOME, following the\n' +
        'local live alias as later retrainings move it.',
    )
    .action(async (options: { model?: string; spec?: string; modelVersion?: string; port: string }) => {
      const port = parsePort(options.port);
      const modelUri = options.model ? resolve(options.model) : process.env.MODEL_URI;
      let model: () => Promise<ScoringModel>;
      let label: string;
      if (modelUri) {
        const specUri = options.spec ? resolve(options.spec) : process.env.FEATURE_SPEC_URI;
        const loaded = await loadScoringModel({
          modelUri,
          featureSpecUri: specUri || undefined,
          modelVersion: options.modelVersion ?? (process.env.MODEL_VERSION || undefined),
          modelSha256: process.env.MODEL_SHA256 || undefined,
        });
        const { objective, numTrees } = loaded.predictor.model;
        model = async () => loaded;
        label = `model ${loaded.version} (${objective}, ${numTrees} trees)`;
      } else {
        model = followLocalAlias(localLayout(mlpHome()).serving);
        const first = await model().catch((error: Error) => {
          throw new UsageError(`${error.message}, or give --model PATH`);
        });
        label = `the local live alias (now ${first.version})`;
      }
      const running = await startLocalScorer(model, port);
      console.error(`mlp: serving ${label} at ${running.url}/score`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await running.close();
    });
}

/** The scoring handler behind the local API Gateway stand-in, on 127.0.0.1. */
export function startLocalScorer(model: () => Promise<ScoringModel>, port: number): Promise<RunningServer> {
  return startLambdaHttpServer(createScoringHandler(model), {
    port,
    maxBodyBytes: MAX_BODY_BYTES,
    functionName: 'mlp-scorer-local',
  });
}
