/** `mlp audit`: print and verify an environment's approval trail. */
import type { Command } from 'commander';
import type * as AuditActions from '../actions/audit';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';
import { withTarget } from './options';

/** Registers `mlp audit`. */
export function registerAuditCommand(program: Command, actions: () => typeof AuditActions): void {
  const command = withTarget(
    program
      .command('audit')
      .description("print an environment's approval trail (gate decisions, approvals, deployments) and verify it"),
  );
  withHelp(withJson(command), {
    examples: ['mlp audit', 'mlp audit --local prod --json', 'mlp audit --env prod'],
    env: ['MLP_HOME', 'AWS_PROFILE'],
    notes:
      'Each entry names who decided (the state machine, or locally the operating-system account) and why, and\n' +
      'holds the hash of the entry before it: an entry changed, removed or moved, or one that does not link to the\n' +
      'chain, is named and the command exits 1.',
  }).action((options: AuditActions.AuditOptions) => actions().audit(options));
}
