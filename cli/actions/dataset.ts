/**
 * `mlp dataset list|show|export`: the curated tables of an environment, locally or in AWS. `show` gives a
 * table's merged manifests and, as of one of them, the snapshot and the training set it defines (window,
 * maturity, row counts, dataset version); `export` writes that training set (or the whole snapshot) to a
 * Parquet file. Counting and exporting run the same DuckDB queries as Prepare, over the table's files
 * downloaded to a scratch directory.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { type EnvironmentConfig, loadEnvironment } from '../../config';
import { curated, s3Uri } from '../../contracts/s3-layout';
import { localSettings } from '../../local/local-home';
import type { ArtifactStore } from '../../stepfunctions/artifact-store';
import { CuratedTables, type TableLog } from '../../stepfunctions/curated/curated-table';
import { quoteName, quoteText, withEngine } from '../../stepfunctions/curated/duckdb-engine';
import { parquetSource, planTrainingSet, queryOverFiles } from '../../stepfunctions/curated/training-set';
import { snapshotSql } from '../../stepfunctions/curated/training-set-sql';
import { type RetrainingSettings, retrainingSettings } from '../../stepfunctions/retraining-settings';
import { UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { type Target, targetOf, type TargetOptions } from '../commands/options';
import { stackOutput } from './aws-stack';
import { targetStore } from './target-store';

/** Options of `mlp dataset list`. */
export interface DatasetOptions extends TargetOptions {
  readonly json?: boolean;
}

/** Options of `mlp dataset show`. */
export interface DatasetShowOptions extends DatasetOptions {
  readonly asOf?: string;
}

/** Options of `mlp dataset export`. */
export interface DatasetExportOptions extends DatasetShowOptions {
  readonly output: string;
  readonly snapshot?: boolean;
}

/** Where the target's curated tables are, and the settings they are read under. */
async function datasetView(target: Target) {
  const config: EnvironmentConfig = loadEnvironment(target.env);
  if (target.kind === 'aws') {
    const curatedBucket = await stackOutput(config.name, 'curatedBucket', config.region);
    const settings = retrainingSettings(config, { landing: '-', curated: curatedBucket, models: '-' });
    return { config, settings, store: targetStore(target, config) };
  }
  return { config, settings: localSettings(config), store: targetStore(target, config) };
}

function where(target: Target): string {
  return target.kind === 'aws' ? `${target.env} in AWS` : `the local twin of ${target.env}`;
}

/** `mlp dataset list`. */
export async function list(options: DatasetOptions): Promise<void> {
  const target = targetOf(options);
  const { settings, store } = await datasetView(target);
  const tables = new CuratedTables(store, settings);
  const currentKid = await tables.currentKid();
  const prefix = s3Uri(settings.buckets.curated, curated.tablesPrefix(settings.dataset));
  const kids = (await store.list(prefix))
    .map((uri) => uri.slice(prefix.length).split('/'))
    .filter((parts) => parts.length === 2 && parts[1] === '_log.json')
    .map(([kid]) => kid);
  const rows = [];
  for (const kid of kids) {
    const log = (await tables.log(kid))!;
    const last = log.entries.at(-1);
    rows.push({
      dataset: settings.dataset,
      kid,
      current: kid === currentKid,
      manifests: log.entries.length,
      rowVersions: log.entries.reduce((n, e) => n + e.added, 0),
      asOf: last?.asOf ?? null,
      lastRun: last?.runId ?? null,
    });
  }
  new CommandOutput(options).result(
    { environment: target.env, location: target.kind, datasets: rows },
    {
      human: (r) =>
        r.datasets.length === 0
          ? `no curated tables in ${where(target)} yet: a retrain merges the first extract`
          : r.datasets.map(
              (d) =>
                `${d.current ? '*' : ' '} ${d.dataset}  key id ${d.kid}  ${d.manifests} manifest(s), ` +
                `${d.rowVersions} row versions, as of ${d.asOf}`,
            ),
      lines: (r) => r.datasets,
    },
  );
}

/** The current table of `dataset`, or a UsageError saying why there is none. */
async function currentTable(target: Target, dataset: string) {
  const view = await datasetView(target);
  if (dataset !== view.settings.dataset) {
    throw new UsageError(`${where(target)} trains on dataset ${view.settings.dataset}, not ${dataset.slice(0, 64)}`);
  }
  const log = await new CuratedTables(view.store, view.settings).current();
  if (!log || log.entries.length === 0) {
    throw new UsageError(
      `no curated table of ${dataset} in ${where(target)} yet`,
      'a retrain merges the first extract',
    );
  }
  return { ...view, log };
}

/**
 * The entry `--as-of` names: a position in the log (`3`), a run id, a manifest key, or a date (the latest
 * manifest whose data date is on or before it). Default: the latest.
 */
export function entryAsOf(log: TableLog, asOf: string | undefined): number {
  if (asOf === undefined) return log.entries.length;
  if (/^\d+$/.test(asOf)) {
    const seq = Number(asOf);
    if (seq >= 1 && seq <= log.entries.length) return seq;
    throw new UsageError(`--as-of ${asOf}: the table holds manifests 1 to ${log.entries.length}`);
  }
  const named = log.entries.find((e) => e.runId === asOf || e.manifestKey === asOf);
  if (named) return named.seq;
  if (/^\d{4}-\d{2}-\d{2}$/.test(asOf)) {
    const before = log.entries.filter((e) => e.asOf <= asOf);
    if (before.length > 0) return before.at(-1)!.seq;
    throw new UsageError(`--as-of ${asOf}: the first manifest is as of ${log.entries[0].asOf}`);
  }
  throw new UsageError(
    `--as-of ${asOf.slice(0, 80)} is neither a manifest number, a run id, a manifest key nor a date (YYYY-MM-DD)`,
  );
}

/** `mlp dataset show DATASET`. */
export async function show(dataset: string, options: DatasetShowOptions): Promise<void> {
  const target = targetOf(options);
  const { settings, store, log } = await currentTable(target, dataset);
  const seq = entryAsOf(log, options.asOf);
  const plan = planTrainingSet(settings, log, seq);
  const counts = await withEngine(async (engine) => {
    const files = await new CuratedTables(store, settings).download(log, seq, engine.scratch);
    const snapshot = snapshotSql(parquetSource(files), [settings.keyColumn, settings.label], plan.rules, seq);
    const [row] = await engine.rows(
      `SELECT (SELECT COUNT(*) FROM (${queryOverFiles(plan, files)}) AS t) AS "trainingSet", ` +
        `COUNT(*) AS "snapshot", COUNT(${quoteName(settings.label)}) AS "labelled" FROM (${snapshot}) AS s`,
    );
    return { snapshot: Number(row.snapshot), labelled: Number(row.labelled), trainingSet: Number(row.trainingSet) };
  });
  const prepared = await preparedVersions(store, settings);
  const result = {
    environment: target.env,
    dataset,
    kid: log.kid,
    asOf: { seq, date: plan.asOf, runId: plan.entries.at(-1)!.runId },
    window: { ...plan.rules.window, from: plan.bounds.from },
    maturity: { labelKnown: true, minAgeMonths: plan.rules.maturity.minAgeMonths, matureBy: plan.bounds.matureBy },
    datasetVersion: plan.datasetVersion,
    prepared: prepared.includes(plan.datasetVersion),
    rows: counts,
    manifests: log.entries.map((e) => ({
      seq: e.seq,
      runId: e.runId,
      manifestKey: e.manifestKey,
      asOf: e.asOf,
      rows: e.rows,
      added: e.added,
      inTrainingSet: e.seq <= seq,
    })),
    preparedVersions: prepared,
  };
  new CommandOutput(options).result(result, {
    human: (r) => [
      `${r.dataset} (key id ${r.kid}) as of manifest ${r.asOf.seq}, ${r.asOf.date} (run ${r.asOf.runId})`,
      `  snapshot      ${r.rows.snapshot} keys, ${r.rows.labelled} with a known label`,
      `  training set  ${r.rows.trainingSet} rows: ${r.window.column} from ${r.window.from} (${r.window.months} months), ` +
        `label known and by ${r.maturity.matureBy} (${r.maturity.minAgeMonths} months)`,
      `  version       ${r.datasetVersion}${r.prepared ? ' (prepared)' : ' (not prepared yet)'}`,
      ...r.manifests.map(
        (m) =>
          `  ${m.inTrainingSet ? '+' : ' '} ${String(m.seq).padStart(3)}  ${m.asOf}  ${m.runId}  ${m.rows} rows, ${m.added} new versions`,
      ),
    ],
  });
}

/** Dataset versions Prepare wrote (those with a training-set.json). */
async function preparedVersions(store: ArtifactStore, settings: RetrainingSettings): Promise<string[]> {
  const prefix = s3Uri(settings.buckets.curated, curated.datasetPrefix(settings.dataset));
  return (await store.list(prefix))
    .map((uri) => uri.slice(prefix.length).split('/'))
    .filter((parts) => parts.length === 2 && /^[0-9a-f]{64}$/.test(parts[0]) && parts[1] === 'training-set.json')
    .map(([version]) => version);
}

/** `mlp dataset export DATASET --output FILE`. */
export async function exportDataset(dataset: string, options: DatasetExportOptions): Promise<void> {
  const target = targetOf(options);
  const output = resolve(options.output);
  if (!output.endsWith('.parquet')) throw new UsageError(`--output must name a .parquet file, got ${basename(output)}`);
  if (!existsSync(dirname(output))) throw new UsageError(`${dirname(output)} does not exist`);
  const { settings, store, log } = await currentTable(target, dataset);
  const seq = entryAsOf(log, options.asOf);
  const plan = planTrainingSet(settings, log, seq);
  const partial = `${output}.partial-${process.pid}`;
  try {
    const rows = await withEngine(async (engine) => {
      const files = await new CuratedTables(store, settings).download(log, seq, engine.scratch);
      const query = options.snapshot
        ? snapshotSql(parquetSource(files), plan.columns, plan.rules, seq)
        : queryOverFiles(plan, files);
      await engine.run(`COPY (${query} ORDER BY "${settings.keyColumn}") TO ${quoteText(partial)} (FORMAT PARQUET)`);
      const [{ n }] = await engine.rows(`SELECT COUNT(*) AS n FROM read_parquet(${quoteText(partial)})`);
      return Number(n);
    });
    renameSync(partial, output);
    new CommandOutput(options).result(
      {
        output,
        dataset,
        what: options.snapshot ? 'snapshot' : 'training set',
        asOf: { seq, date: plan.asOf },
        datasetVersion: options.snapshot ? null : plan.datasetVersion,
        rows,
      },
      {
        human: (r) =>
          `wrote ${r.output}: the ${r.what} of ${r.dataset} as of manifest ${r.asOf.seq} (${r.asOf.date}), ${r.rows} rows`,
      },
    );
  } finally {
    rmSync(partial, { force: true });
  }
}
