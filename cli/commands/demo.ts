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
    .description('seed a synthetic bank, extract it, retrain locally, serve and score: the lifecycle in one go')
    .option('--customers <n>', 'customers in the synthetic bank (10,000 to 5,000,000)', '100000')
    .option('--local [env]', 'the local environment to run it in (default dev)')
    .option('--approve-as <name>', 'environments that require approval (prod): who approves the candidate');
  withHelp(withJson(command), {
    examples: [
      'npm run demo',
      'mlp demo --customers 20000',
      'MLP_HOME=/tmp/demo mlp demo --local prod --approve-as alice',
    ],
    env: ['MLP_HOME', 'MLP_PYTHON', 'MLP_PSEUDONYM_KEY'],
    notes:
      'It only ever clears a home it made itself. The outcome sets the exit code as mlp retrain does: 0 when the\n' +
      'model was promoted and scored, 3 when the gate or the approver declined it, 1 when a step failed.',
  }).action((options: DemoActions.DemoOptions) => actions().demo(options));
}
