/**
 * `mlp synth [ENV...]`: synthesizes the CDK app for all or some environments. Needs no AWS credentials and no
 * network: zones come from config, and notices and telemetry are off in cdk.json.
 */
import type { Command } from 'commander';
import type * as SynthActions from '../actions/synth';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp synth`. */
export function registerSynthCommand(program: Command, actions: () => typeof SynthActions): void {
  const command = program
    .command('synth')
    .argument('[environments...]', 'environments to synthesize (default: all)')
    .description('synthesize CloudFormation templates for every environment (or those named) into cdk.out/')
    .option('--output <dir>', 'cloud assembly directory', 'cdk.out');
  withHelp(withJson(command), {
    examples: ['mlp synth', 'mlp synth prod --output /tmp/prod.out'],
    notes:
      'Compliance packs (AWS Solutions, NIST 800-53 rev 5, PCI DSS 3.2.1) run during synthesis; a finding fails it.',
  }).action((environments: string[], options: { output: string; json?: boolean }) =>
    actions().synth(environments, options),
  );
}
