/**
 * `mlp card MODEL_VERSION`: a version's model card (intended use, data, features, metrics with intervals,
 * fairness, drift baseline, decisions) as JSON and HTML, stored beside the version and written locally.
 */
import type { Command } from 'commander';
import type * as CardActions from '../actions/card';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';
import { withTarget } from './options';

/** Registers `mlp card`. */
export function registerCardCommand(program: Command, actions: () => typeof CardActions): void {
  const command = withTarget(
    program
      .command('card')
      .description("write a model version's model card (JSON and HTML), beside the version and into --out")
      .argument('<version>', 'registered model version, e.g. mlp-dev-loans/2')
      .option('--out <dir>', 'directory for <group>-<n>.card.json and .card.html (default: the current directory)'),
  );
  withHelp(withJson(command), {
    examples: [
      'mlp card mlp-dev-loans/2',
      'mlp card mlp-prod-loans/1 --local prod --out /tmp/cards',
      'mlp card mlp-prod-loans/7 --env prod --json',
    ],
    env: ['MLP_HOME', 'AWS_PROFILE'],
    notes:
      'The card is rebuilt from the registry, the evaluation, the feature spec, the drift baseline and the approval\n' +
      'trail as they are now, stored under <dataset>/cards/ of the models bucket and recorded in the registry\n' +
      '(modelCardUri). The pipeline writes it too, at the end of every version: promoted, rejected, rolled back.\n' +
      'The HTML runs no script and loads nothing. --json prints the card and where it went.',
  }).action((version: string, options: CardActions.CardOptions) => actions().card(version, options));
}
