/**
 * `mlp predict`: offline batch scoring of a CSV file with a model file: a headerless CSV of feature vectors, or,
 * with `--spec`, a CSV whose header names the features (the feature spec turns each row into the model's vector,
 * exactly as the scorer does). Prints CSV, or one JSON document with `--json`.
 */
import type { Command } from 'commander';
import type * as PredictActions from '../actions/predict';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';

/** Registers `mlp predict`. */
export function registerPredictCommand(program: Command, actions: () => typeof PredictActions): void {
  const command = program
    .command('predict')
    .description('score a CSV file with a model file: one prediction per row')
    .requiredOption('--model <path>', 'model.tar.gz, xgboost-model, .json or .ubj')
    .requiredOption('--input <file>', 'CSV rows: headerless feature vectors, or named columns with --spec')
    .option('--spec <path>', "feature-spec.json: the input's header names features; categories are text")
    .option('--margin', 'print raw margins instead of transformed predictions')
    .option('--contribs', "print TreeSHAP contributions, XGBoost's pred_contribs layout: per feature, then the bias")
    .option('--output <file>', 'write the predictions (CSV) there and print a summary');
  withHelp(withJson(command), {
    examples: [
      'mlp predict --model model.tar.gz --input vectors.csv',
      'mlp predict --model model.tar.gz --spec feature-spec.json --input loans.csv --output scores.csv',
      'mlp predict --model model.json --input vectors.csv --margin --json',
      'mlp predict --model model.tar.gz --input vectors.csv --contribs',
    ],
    notes:
      'Headerless input: one row per line, one value per model feature, empty or NaN = missing.\n' +
      'With --spec: columns the spec does not name are ignored (and listed on stderr); empty = missing.\n' +
      'Output: one line per row (K values for a K-class model), with a header when the input has one.\n' +
      '--contribs: per row one value per model column then the bias (per class, classes concatenated); they sum\n' +
      'to the margin.',
  }).action((options: PredictActions.PredictOptions) => actions().predict(options));
}
