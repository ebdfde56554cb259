/**
 * `mlp serve`: runs the scoring Lambda handler behind a local HTTP server on 127.0.0.1, the same code that
 * serves in AWS, with API Gateway's request/response translation done locally.
 */
import type { Command } from 'commander';
import type * as ServeActions from '../actions/serve';
import { withHelp } from '../../terminal/help';

/** Registers `mlp serve`. */
export function registerServeCommand(program: Command, actions: () => typeof ServeActions): void {
  const command = program
    .command('serve')
    .description('serve a model on 127.0.0.1 with the scoring Lambda handler (POST /score)')
    .option('--model <path>', 'model.tar.gz, xgboost-model, .json or .ubj (default: $MODEL_URI)')
    .option('--spec <path>', 'feature-spec.json (default: $FEATURE_SPEC_URI, else numeric features f0…)')
    .option('--model-version <label>', 'version reported with every prediction (default: $MODEL_VERSION)')
    .option(
      '--baseline <path>',
      "with --model: the version's baseline.json, for drift in /metrics (default: $BASELINE_URI)",
    )
    .option('--local [env]', "without --model: serve what the local environment's live alias names (default dev)")
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080');
  withHelp(command, {
    examples: [
      'mlp serve',
      'mlp serve --local prod --port 8081',
      'mlp serve --model model.tar.gz --spec feature-spec.json --model-version mlp-dev-loans/1',
    ],
    env: ['MLP_HOME', 'MODEL_URI', 'FEATURE_SPEC_URI', 'MODEL_VERSION', 'MODEL_SHA256', 'BASELINE_URI'],
    notes:
      'Routes: POST /score, GET /health, GET /version, GET /openapi.json (the request schema of the served model),\n' +
      'GET /metrics (Prometheus: requests, latency, PSI per feature of the records scored this hour).\n' +
      'Following the live alias, a retraining that promotes a new model is served from the next request on.\n' +
      'SIGTERM or Ctrl-C stops it after in-flight requests finish. Handler logs and metrics go to $MLP_HOME/logs/.',
  }).action((options: ServeActions.ServeOptions) => actions().serve(options));
}
