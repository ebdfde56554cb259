/** `mlp env list|show`: inspect the validated per-environment configuration (config/environments.ts). */
import type { Command } from 'commander';
import type * as EnvActions from '../actions/env';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp env`. */
export function registerEnvCommand(program: Command, actions: () => typeof EnvActions): void {
  const env = program.command('env').description('inspect environment configuration (config/environments.ts)');
  withHelp(withJson(env.command('list').description('list environments with account, region and zones')), {
    examples: ['mlp env list', 'mlp env list --json'],
  }).action((options: { json?: boolean }) => actions().listEnvironments(options));
  withHelp(
    withJson(
      env
        .command('show')
        .argument('<name>', 'environment name')
        .description('print one validated environment (the CA bundle is summarised, not printed)'),
    ),
    { examples: ['mlp env show prod'] },
  ).action((name: string, options: { json?: boolean }) => actions().showEnvironment(name, options));
}
