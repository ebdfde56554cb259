/**
 * `mlp demo` (`npm run demo`): the whole lifecycle on this machine, in a fresh `$MLP_HOME` (default `.mlp/`).
 */
import type { Command } from 'commander';
import type * as DemoActions from '../actions/demo';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp demo`. */
export function registerDemoCommand(program: Command, actions: () => typeof DemoActions): void {
  const command = program
    .command('demo')
    .description(
      'two months of a synthetic bank: seed, extract, retrain, serve and score; advance, extract, retrain again',
    )
    .option('--customers <n>', 'customers in the synthetic bank (50,000 to 5,000,000)', '100000')
    .option('--local [env]', 'the local environment to run it in (default dev)')
    .option('--approve-as <name>', 'environments that require approval (prod): who approves the candidate');
  withHelp(withJson(command), {
    examples: [
      'npm run demo',
      'mlp demo --customers 50000',
      'MLP_HOME=/tmp/demo mlp demo --local prod --approve-as alice',
    ],
    env: ['MLP_HOME', 'MLP_PYTHON', 'MLP_PSEUDONYM_KEY'],
    notes:
      "It only ever clears a home it made itself. The first month's outcome sets the exit code as mlp retrain\n" +
      'does: 0 when the model was promoted and scored, 3 when the gate or the approver declined it, 1 when a step\n' +
      'failed; a second month whose retrain fails exits 1 too (one the gate declines leaves the champion serving).',
  }).action((options: DemoActions.DemoOptions) => actions().demo(options));
}
