/** `mlp dataset list|show|export`: the curated tables, their snapshots and training sets. */
import type { Command } from 'commander';
import type * as DatasetActions from '../actions/dataset';
import { withHelp } from '../../terminal/help';
import { withJson } from '../../terminal/options';
import { withTarget } from './options';

const AS_OF =
  'as of a merged manifest: its number in the table (1, 2, …), its run id, its manifest key, or a date ' +
  '(YYYY-MM-DD: the latest manifest on or before it); default the latest';

/** Registers `mlp dataset`. */
export function registerDatasetCommand(program: Command, actions: () => typeof DatasetActions): void {
  const dataset = program
    .command('dataset')
    .description('the curated store: tables of merged extracts, snapshots, training sets');

  const list = withTarget(dataset.command('list').description("list an environment's curated tables"));
  withHelp(withJson(list), {
    examples: ['mlp dataset list', 'mlp dataset list --local prod', 'mlp dataset list --env prod --json'],
    env: ['MLP_HOME', 'AWS_PROFILE'],
  }).action((options: DatasetActions.DatasetOptions) => actions().list(options));

  const show = withTarget(
    dataset
      .command('show')
      .argument('<dataset>', 'the dataset (e.g. loans)')
      .description('manifests, row counts, window, maturity and dataset version of a training set')
      .option('--as-of <manifest|date>', AS_OF),
  );
  withHelp(withJson(show), {
    examples: [
      'mlp dataset show loans',
      'mlp dataset show loans --as-of 2026-11-30',
      'mlp dataset show loans --as-of 1',
    ],
    env: ['MLP_HOME', 'AWS_PROFILE'],
  }).action((name: string, options: DatasetActions.DatasetShowOptions) => actions().show(name, options));

  const exported = withTarget(
    dataset
      .command('export')
      .argument('<dataset>', 'the dataset (e.g. loans)')
      .description('write a training set (key, label, features) or the whole snapshot to a Parquet file')
      .requiredOption('--output <file.parquet>', 'the Parquet file to write (replaced whole, never half-written)')
      .option('--as-of <manifest|date>', AS_OF)
      .option('--snapshot', 'every key with every column, not only the training set'),
  );
  withHelp(withJson(exported), {
    examples: [
      'mlp dataset export loans --output features.parquet',
      'mlp dataset export loans --as-of 1 --snapshot --output snapshot.parquet',
    ],
    env: ['MLP_HOME', 'AWS_PROFILE'],
    notes: 'The training set is the one Prepare trains on as of that manifest: the same query, the same rows.',
  }).action((name: string, options: DatasetActions.DatasetExportOptions) => actions().exportDataset(name, options));
}
