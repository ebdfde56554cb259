/**
 * `mlp score`: sends a JSON scoring request to a local `mlp serve` (the default) or to the private API of a
 * deployed environment (`--env`, SigV4-signed with the default credential chain), and prints the response.
 */
import type { Command } from 'commander';
import type * as ScoreActions from '../actions/score';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp score`. */
export function registerScoreCommand(program: Command, actions: () => typeof ScoreActions): void {
  const command = program
    .command('score')
    .description('POST a scoring request ({"records": [...]}) to a local mlp serve (default) or an environment')
    .requiredOption('--input <file>', 'JSON request body')
    .option('--env <name>', "call the deployed environment's private API (SigV4, default credentials)")
    .option('--url <url>', 'endpoint URL (default: http://127.0.0.1:8080/score, or the stack output with --env)')
    .option('--wait <seconds>', 'local server: wait up to this long for it to answer /health');
  withHelp(withJson(command), {
    examples: [
      'mlp score --input request.json',
      'mlp score --input "$MLP_HOME/examples/request.json" --wait 30',
      'mlp score --env prod --input request.json',
    ],
    env: ['AWS_PROFILE'],
    notes: 'A request the scorer refuses (4xx, 5xx) is printed and exits 1.',
  }).action((options: ScoreActions.ScoreOptions) => actions().score(options));
}
