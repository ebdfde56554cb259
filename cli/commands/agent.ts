/** `mlp agent`: the on-prem agent's commands (onprem-agent/cli/), as the standalone agent bundle has them. */
import type { Command } from 'commander';
import { registerAgentCommands } from '../../onprem-agent/cli/agent-command';
import type * as AgentActions from '../../onprem-agent/cli/run-agent';

/** Registers `mlp agent`. */
export function registerAgentCommand(program: Command, actions: () => typeof AgentActions): void {
  registerAgentCommands(program.command('agent').description('the on-prem extract agent'), actions, 'mlp agent');
}
