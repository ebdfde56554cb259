#!/usr/bin/env node
/**
 * Entry point of the standalone agent bundle (`mlp-agent`), built by `npm run build:agent` for bank servers:
 * the same commands as `mlp agent …` and `mlp seed`, without the CDK or the rest of the platform.
 */
import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from '../cli/commands/agent';
import { registerSeedCommand } from '../cli/commands/seed';
import { UsageError } from '../cli/usage-error';
import { AGENT_VERSION } from './extract/run-extract';

async function main(): Promise<void> {
  const program = new Command('mlp-agent')
    .description('on-prem extract agent: stream, anonymise at source, push exactly once')
    .version(AGENT_VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerAgentCommands(program);
  registerSeedCommand(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof UsageError) {
      console.error(`mlp-agent: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`mlp-agent: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

void main();
