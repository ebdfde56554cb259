/**
 * `mlp retrain`, `mlp approve`, `mlp models`, `mlp lineage`: the retraining lifecycle from the command line,
 * locally under `$MLP_HOME` by default, in a deployed environment with `--env`.
 */
import { type Command, Option } from 'commander';
import type * as ApproveActions from '../actions/approve';
import type * as RegistryActions from '../actions/registry';
import type * as RetrainActions from '../actions/retrain';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';
import { withTarget } from './options';

/** Registers the retraining commands. */
export function registerRetrainCommands(
  program: Command,
  actions: () => typeof RetrainActions,
  registry: () => typeof RegistryActions,
  approveActions: () => typeof ApproveActions,
): void {
  const retrain = withTarget(
    program
      .command('retrain')
      .description('run the retraining state machine: locally (default) or in a deployed environment (--env)'),
  )
    .option('--manifest <key>', 'extract manifest key (default: the dataset latest)')
    .option('--approve-as <name>', 'local runs of an environment that requires approval (prod): who approves')
    .addOption(new Option('--reject-as <name>', 'local runs needing approval: who declines').conflicts('approveAs'))
    .option('--reason <text>', 'with --reject-as: why')
    .addOption(
      new Option(
        '--wait-for-approval',
        'local runs needing approval: wait at Approve for mlp approve VERSION',
      ).conflicts(['approveAs', 'rejectAs']),
    );
  withHelp(withJson(retrain), {
    examples: [
      'mlp retrain',
      'mlp retrain --local prod --wait-for-approval',
      'mlp retrain --local prod --approve-as jane.obrien@bank.example',
      'mlp retrain --local prod --reject-as alice --reason "too few young applicants in the test split"',
      'mlp retrain --env dev --manifest landing/loans/<run>/_manifest.json',
    ],
    env: ['MLP_HOME', 'MLP_PYTHON', 'AWS_PROFILE'],
    notes:
      'Prints the outcome: Promoted (exit 0), Not promoted by the gate or Rejected by an approver (exit 3),\n' +
      'Failed with the named error (exit 1). Locally each state is shown with its duration, and training with\n' +
      'its validation AUC per round.',
  }).action((options: RetrainActions.RetrainOptions) => actions().retrain(options));

  const approve = withTarget(
    program
      .command('approve')
      .argument('<version>', 'the model version waiting at Approve (e.g. mlp-prod-loans/3)')
      .description('decide a candidate waiting at Approve (prod), recorded in the approval trail under your identity'),
  )
    .requiredOption('--reason <text>', 'why: recorded with the decision')
    .option('--reject', 'decline the promotion; the champion keeps serving');
  withHelp(withJson(approve), {
    examples: [
      'mlp approve mlp-prod-loans/3 --local prod --reason "AUC and fairness within policy, RISK-14"',
      'mlp approve mlp-prod-loans/3 --env prod --reason "reviewed in the model risk committee of 2026-12-01"',
      'mlp approve mlp-prod-loans/4 --env prod --reject --reason "calibration drifts above 0.6"',
    ],
    env: ['MLP_HOME', 'AWS_PROFILE'],
    notes:
      'The approver recorded is who runs the command: the operating-system account locally, the caller IAM\n' +
      'identity (STS) in AWS. The decision is appended to the approval trail first, then the waiting execution is\n' +
      'answered; a version that is not waiting (already decided, its run ended, unknown) is refused by name.\n' +
      'Locally a run waits with: mlp retrain --local prod --wait-for-approval.',
  }).action((version: string, options: ApproveActions.ApproveOptions) => approveActions().approve(version, options));

  const models = withTarget(
    program.command('models').description('list registered model versions with metrics and decisions, champion marked'),
  );
  withHelp(withJson(models), {
    examples: ['mlp models', 'mlp models --local prod', 'mlp models --env prod --json'],
    env: ['MLP_HOME', 'AWS_PROFILE'],
  }).action((options: RegistryActions.RegistryOptions) => registry().models(options));

  const lineage = withTarget(
    program
      .command('lineage')
      .argument('<version>', 'model version, as predictions carry it (e.g. mlp-dev-loans/1)')
      .description('print a model version lineage: training job, dataset version, extract, policy, key id'),
  );
  withHelp(withJson(lineage), {
    examples: ['mlp lineage mlp-dev-loans/1', 'mlp lineage mlp-prod-loans/3 --env prod'],
    env: ['MLP_HOME', 'AWS_PROFILE'],
  }).action((version: string, options: RegistryActions.RegistryOptions) => registry().lineage(version, options));
}
