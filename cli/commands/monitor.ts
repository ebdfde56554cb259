/**
 * `mlp monitor` and `mlp drift`: drift monitoring from the command line. `mlp monitor` runs the drift job over
 * the local environment's captures (in AWS it runs hourly on its own); `mlp drift` judges a file of records
 * against a registered version's baseline.
 */
import type { Command } from 'commander';
import type * as MonitorActions from '../actions/monitor';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp monitor` and `mlp drift`. */
export function registerMonitorCommands(program: Command, actions: () => typeof MonitorActions): void {
  const monitor = program
    .command('monitor')
    .description("run the drift and quality jobs over the local environment's captures; advance its drift alarm")
    .option('--local [env]', 'the local environment (default dev)')
    .option('--retrain', 'when the drift alarm enters ALARM, start a retraining (as the alarm does in AWS)');
  withHelp(withJson(monitor), {
    examples: ['mlp monitor', 'mlp monitor --local staging --retrain --json'],
    env: ['MLP_HOME', 'MLP_PYTHON'],
    notes:
      "Judges the champion's captures of the last alarms.driftWindowHours against its baseline (PSI per feature\n" +
      'and of the score); a window under alarms.driftMinRecords is not judged. Each judged run is one period of\n' +
      'the drift alarm: ALARM when MaxPsi >= alarms.driftPsi in 2 of the last 3. In AWS the Monitoring stack\n' +
      'runs the job hourly and the alarm starts the retraining itself.\n' +
      'Quality: per version and cohort month, the AUC estimated from the scores and, once the curated table holds\n' +
      'outcomes for 200 of the keys scored, the realised AUC and Brier score.',
  }).action((options: MonitorActions.MonitorOptions) => actions().monitor(options));

  const drift = program
    .command('drift')
    .description("drift of a file of records against a registered model version's baseline")
    .requiredOption('--model <version>', 'registered model version, e.g. mlp-dev-loans/1')
    .requiredOption('--input <file>', "CSV whose header names the version's features")
    .option('--local [env]', 'the local environment whose registry holds the version (default dev)');
  withHelp(withJson(drift), {
    examples: [
      'mlp drift --model mlp-dev-loans/1 --input loans.csv',
      'mlp drift --model mlp-dev-loans/2 --input x.csv --json',
    ],
    env: ['MLP_HOME'],
    notes:
      'Prints PSI per feature and whether it drifted (PSI >= alarms.driftPsi); a file of fewer than\n' +
      'alarms.driftMinRecords records is reported as not judged. Exit 0 either way: drift is a finding, not a failure.',
  }).action((options: MonitorActions.DriftOptions) => actions().drift(options));
}
