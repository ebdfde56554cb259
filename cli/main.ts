/**
 * The `mlp` command line: one entry point for the whole product. Subcommands live in `cli/commands/`, one
 * file each, and register themselves on the program built here.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config';
import packageJson from '../package.json';
import { registerAgentCommand } from './commands/agent';
import { registerDemoCommand } from './commands/demo';
import { registerEnvCommand } from './commands/env';
import { registerPredictCommand } from './commands/predict';
import { registerRetrainCommands } from './commands/retrain';
import { registerScoreCommand } from './commands/score';
import { registerSeedCommand } from './commands/seed';
import { registerServeCommand } from './commands/serve';
import { registerSynthCommand } from './commands/synth';
import { UsageError } from './usage-error';

/** Builds the `mlp` program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command('mlp')
    .description(
      'Hybrid ML platform for retail banks: on-prem agent, retraining, private scoring, per-environment AWS CDK',
    )
    .version(packageJson.version)
    .showHelpAfterError()
    .exitOverride();
  registerSynthCommand(program);
  registerEnvCommand(program);
  registerPredictCommand(program);
  registerServeCommand(program);
  registerScoreCommand(program);
  registerSeedCommand(program);
  registerAgentCommand(program);
  registerRetrainCommands(program);
  registerDemoCommand(program);
  return program;
}

/**
 * Runs the CLI. Configuration and usage problems print one line and exit 2; anything else propagates to the
 * caller (bin/mlp.js), which prints it and exits 1.
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      console.error(`mlp: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
