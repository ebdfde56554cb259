#!/usr/bin/env node
/**
 * Entry point of the standalone agent bundle (`mlp-agent`), built by `npm run build:agent` for bank servers:
 * the same commands as `mlp agent …` and `mlp seed`, under the same CLI convention, without the CDK or the rest
 * of the platform. Their implementations are bundled in, not loaded on demand.
 */
import { Command } from 'commander';
import { registerAgentCommands } from './cli/agent-command';
import * as agentActions from './cli/run-agent';
import * as seedActions from './cli/run-seed';
import { registerSeedCommand } from './cli/seed-command';
import { EXIT_CODES_HELP } from '../terminal/help';
import { conventionalOutput, runProgram } from '../terminal/run-program';
import { AGENT_VERSION } from './extract/run-manifest';

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
