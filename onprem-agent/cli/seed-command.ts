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

  const advance = command
    .command('advance')
    .description('move the synthetic bank forward in time: new loans, payments, balances, outcomes that mature')
    .option('--days <n>', 'days to move forward')
    .option('--months <n>', 'calendar months to move forward')
    .option('--db <file>', 'the bank (default: $MLP_HOME/bank.db)')
    .option(
      '--shift <feature=factor...>',
      'multiply a feature of the new loans (annual_income, loan_amount, interest_rate), e.g. loan_amount=1.4',
    );
  withHelp(withJson(advance), {
    examples: ['mlp seed advance --months 1', 'mlp seed advance --days 30 --shift loan_amount=1.4 --db /tmp/bank.db'],
    env: ['MLP_HOME'],
    notes:
      "Deterministic: the same bank advanced the same way is the same bank. A loan's defaulted_12m is NULL until\n" +
      '12 months after it originates. The advance is one transaction: a failed one changes nothing.',
  }).action((_options: unknown, own: Command) =>
    // `--db` and `--json` are also `seed`'s own options, which commander gives to `seed` wherever they appear.
    actions().advance(own.optsWithGlobals<SeedActions.AdvanceCommandOptions>()),
  );
}
