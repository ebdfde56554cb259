/**
 * `mlp report MODEL_VERSION`: one registered version's report as a self-contained HTML file — its evaluation
 * (ROC and calibration curves, score histogram), feature importance, drift and quality in production.
 */
import type { Command } from 'commander';
import type * as ReportActions from '../actions/report';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';
import { withTarget } from './options';

/** Registers `mlp report`. */
export function registerReportCommand(program: Command, actions: () => typeof ReportActions): void {
  const command = withTarget(
    program
      .command('report')
      .description("write a model version's report: evaluation, importance, drift and quality, as one HTML file")
      .argument('<version>', 'registered model version, e.g. mlp-dev-loans/2')
      .option('--out <file>', 'where to write the HTML (default: ./<group>-<n>.report.html)'),
  );
  withHelp(withJson(command), {
    examples: [
      'mlp report mlp-dev-loans/2',
      'mlp report mlp-dev-loans/2 --out /tmp/loans-2.html',
      'mlp report mlp-prod-loans/7 --env prod --json',
    ],
    env: ['MLP_HOME', 'AWS_PROFILE'],
    notes:
      'The file holds its charts as inline SVG, drawn when it is written: it runs no script and loads nothing,\n' +
      'so it opens offline and inside a locked-down network. A part that cannot be had (never served: no drift;\n' +
      'no quality job run yet) is listed as not shown. --json prints the data the report is drawn from.',
  }).action((version: string, options: ReportActions.ReportOptions) => actions().report(version, options));
}
