/**
 * The `mlp` command line: one entry point for the whole product. Each command is defined in `cli/commands/`
 * (options, help) and implemented in `cli/actions/`, loaded only when the command runs, so `mlp --help` loads
 * commander and these definitions alone. The convention every command follows is in cli/README.md.
 */
import { Command } from 'commander';
import packageJson from '../package.json';
import type * as AgentActions from '../onprem-agent/cli/run-agent';
import type * as ApproveActions from './actions/approve';
import type * as AuditActions from './actions/audit';
import type * as CardActions from './actions/card';
import type * as DatasetActions from './actions/dataset';
import type * as DemoActions from './actions/demo';
import type * as EnvActions from './actions/env';
import type * as MonitorActions from './actions/monitor';
import type * as PredictActions from './actions/predict';
import type * as ReportActions from './actions/report';
import type * as RegistryActions from './actions/registry';
import type * as RetrainActions from './actions/retrain';
import type * as ScoreActions from './actions/score';
import type * as SeedActions from '../onprem-agent/cli/run-seed';
import type * as ServeActions from './actions/serve';
import type * as SynthActions from './actions/synth';
import { registerAgentCommand } from './commands/agent';
import { registerAuditCommand } from './commands/audit';
import { registerCardCommand } from './commands/card';
import { registerDatasetCommand } from './commands/dataset';
import { registerDemoCommand } from './commands/demo';
import { registerEnvCommand } from './commands/env';
import { registerMonitorCommands } from './commands/monitor';
import { registerPredictCommand } from './commands/predict';
import { registerReportCommand } from './commands/report';
import { registerRetrainCommands } from './commands/retrain';
import { registerScoreCommand } from './commands/score';
import { registerSeedCommand } from '../onprem-agent/cli/seed-command';
import { registerServeCommand } from './commands/serve';
import { registerSynthCommand } from './commands/synth';
import { EXIT_CODES_HELP } from '../terminal/help';
import { lazyActions, lazyModule } from './lazy-action';
import { conventionalOutput, runProgram } from '../terminal/run-program';

/** Builds the `mlp` program with every subcommand registered. */
export function buildProgram(): Command {
  const program = conventionalOutput(
    new Command('mlp')
      .description(
        'Hybrid ML platform for retail banks: on-prem agent, retraining, private scoring, per-environment AWS CDK.\n' +
          'Commands act locally under $MLP_HOME (default .mlp/) unless given --env ENV, which means AWS.',
      )
      .version(packageJson.version),
    'mlp',
  ).addHelpText('after', `\n${EXIT_CODES_HELP}\nConventions: cli/README.md. Each command: mlp COMMAND --help.`);
  registerDemoCommand(program, lazyActions<typeof DemoActions>('demo'));
  registerSeedCommand(program, lazyModule<typeof SeedActions>('onprem-agent/cli/run-seed'));
  registerAgentCommand(program, lazyModule<typeof AgentActions>('onprem-agent/cli/run-agent'));
  registerRetrainCommands(
    program,
    lazyActions<typeof RetrainActions>('retrain'),
    lazyActions<typeof RegistryActions>('registry'),
    lazyActions<typeof ApproveActions>('approve'),
  );
  registerDatasetCommand(program, lazyActions<typeof DatasetActions>('dataset'));
  registerPredictCommand(program, lazyActions<typeof PredictActions>('predict'));
  registerServeCommand(program, lazyActions<typeof ServeActions>('serve'));
  registerMonitorCommands(program, lazyActions<typeof MonitorActions>('monitor'));
  registerReportCommand(program, lazyActions<typeof ReportActions>('report'));
  registerAuditCommand(program, lazyActions<typeof AuditActions>('audit'));
  registerCardCommand(program, lazyActions<typeof CardActions>('card'));
  registerScoreCommand(program, lazyActions<typeof ScoreActions>('score'));
  registerEnvCommand(program, lazyActions<typeof EnvActions>('env'));
  registerSynthCommand(program, lazyActions<typeof SynthActions>('synth'));
  return program;
}

/** Runs the CLI on `argv` and resolves to its exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runProgram(buildProgram(), argv, 'mlp');
}

/** Runs the CLI and sets the process exit code (bin/mlp.js). */
export function run(argv: readonly string[]): void {
  void main(argv).then((code) => {
    process.exitCode = code;
  });
}
