/**
 * `run`: extracts every dataset of an agent config (anonymised at source) into the configured store; `--dry-run`
 * prints the plan and SQL and writes nothing. `mlp agent` and the standalone agent bundle (onprem-agent/main.ts,
 * at its top level) register the same definitions.
 */
import type { Command } from 'commander';
import type * as AgentActions from './run-agent';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Adds the agent's commands (`run`) to `parent`; `prefix` is how examples call them. */
export function registerAgentCommands(parent: Command, actions: () => typeof AgentActions, prefix: string): void {
  const run = parent
    .command('run')
    .description('extract, anonymise and push every dataset of a config')
    .requiredOption('--config <file>', 'agent config (YAML or JSON)')
    .option('--dataset <name>', 'only this dataset')
    .option('--dry-run', 'print the plan and SQL; write nothing');
  withHelp(withJson(run), {
    examples: [
      `${prefix} run --config onprem-agent/examples/synthetic-bank.yaml --dry-run`,
      `MLP_PSEUDONYM_KEY=$(cat /etc/mlp/pseudonym.key) ${prefix} run --config agent.yaml --dataset loans`,
    ],
    env: ['MLP_HOME', 'MLP_PSEUDONYM_KEY'],
    notes:
      'The config names where its secrets come from (an environment variable or a file). MLP_PSEUDONYM_KEY is\n' +
      "the example config's: give the same key every run, or the pseudonyms change. Paths may start with\n" +
      '${MLP_HOME}. A run that a column policy, a data test or the k-anonymity gate refuses writes nothing and\n' +
      'exits 3; a dataset another run is extracting is refused the same way.',
  }).action((options: AgentActions.AgentRunOptions) => actions().runAgent(options));
}
