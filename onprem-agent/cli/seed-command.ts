/** `mlp seed` (and `mlp-agent seed`): builds the deterministic synthetic retail bank (SQLite) the agent and the demo extract from. */
import type { Command } from 'commander';
import type * as SeedActions from './run-seed';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp seed`. */
export function registerSeedCommand(program: Command, actions: () => typeof SeedActions): void {
  const command = program
    .command('seed')
    .description('build a deterministic synthetic retail bank in a new SQLite file')
    .option('--customers <n>', 'number of customers (1 to 5,000,000)', '100000')
    .option('--db <file>', 'SQLite file to create (default: $MLP_HOME/bank.db)')
    .option('--seed <n>', 'random seed', '42');
  withHelp(withJson(command), {
    examples: ['mlp seed', 'mlp seed --customers 20000 --db /tmp/bank.db'],
    env: ['MLP_HOME'],
    notes: 'An existing file is never overwritten; a failed seed leaves no file behind.',
  }).action((options: SeedActions.SeedCommandOptions) => actions().seed(options));
}
