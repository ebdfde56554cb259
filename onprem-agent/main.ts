#!/usr/bin/env node
/**
 * Entry point of the standalone agent bundle (`mlp-agent`), built by `npm run build:agent` for bank servers:
 * the same commands as `mlp agent …` and `mlp seed`, under the same CLI convention, without the CDK or the rest
 * of the platform. Their implementations are bundled in, not loaded on demand.
 */
import { Command } from 'commander';
import * as agentActions from '../cli/actions/agent';
import * as seedActions from '../cli/actions/seed';
import { registerAgentCommands } from '../cli/commands/agent';
import { registerSeedCommand } from '../cli/commands/seed';
import { EXIT_CODES_HELP } from '../cli/help';
import { conventionalOutput, runProgram } from '../cli/run-program';
import { AGENT_VERSION } from './extract/run-extract';

const program = conventionalOutput(
  new Command('mlp-agent')
    .description('on-prem extract agent: stream, anonymise at source, push exactly once')
    .version(AGENT_VERSION),
  'mlp-agent',
).addHelpText('after', `\n${EXIT_CODES_HELP}`);
registerAgentCommands(program, () => agentActions, 'mlp-agent');
registerSeedCommand(program, () => seedActions);
void runProgram(program, process.argv, 'mlp-agent').then((code) => {
  process.exitCode = code;
});
