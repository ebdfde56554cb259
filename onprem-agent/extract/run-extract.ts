/**
 * One extract run of one dataset: plan (fail closed on any column without a policy), then one pass over the
 * source that anonymises every row, checks the row data tests, counts the k-anonymity groups and spools the
 * output lines locally; only when the tests and the k-anonymity gate pass are gzip CSV parts built from the
 * spool (without the suppressed groups) and uploaded, the manifest stored last, and the watermark advanced.
 * A killed run resumes from the journal: parts are deterministic, stored ones are not sent again, and the
 * manifest appears exactly once.
 */
import { type ExtractManifest } from '../../contracts/extract-manifest';
import { landing } from '../../contracts/s3-layout';
import type { AgentConfig, DatasetConfig } from '../config/agent-config';
import type { ObjectStore } from '../sink/object-store';
import type { Source } from '../source/source';
import { anonymisingPass, type PassResult } from './anonymising-pass';
import { uniqueTestFailures } from './data-tests';
import { dataTestsFailed, ExtractAbort } from './extract-abort';
import { type ExtractPlan, planExtract, windowClause } from './extract-plan';
import { Journal, RunLocked, type WatermarkPosition } from './journal';
import { compileTransform } from '../anonymise/column-transform';
import { runManifest } from './run-manifest';
import { sha256 } from './sha256';
import { removeSpool } from './spool';
import { StaleRun, storeParts } from './store-parts';

/** What a run needs besides the config. */
export interface ExtractDependencies {
  readonly source: Source;
  readonly store: ObjectStore;
  /** Master pseudonymisation key. */
  readonly key: Buffer;
  /** Clock, for the upper watermark bound of a new run. */
  readonly now: () => Date;
  /** Progress: rows read and anonymised so far (after each batch), then rows stored (after each part). */
  readonly progress?: (progress: ExtractProgress) => void;
}

/** A progress report of a run. */
export interface ExtractProgress {
  /** `read`: the pass over the source; `stored`: parts uploaded. */
  readonly phase: 'read' | 'stored';
  readonly rows: number;
}

/** A run's outcome. */
export interface ExtractResult {
  readonly dataset: string;
  readonly runId: string | null;
  readonly rows: number;
  readonly suppressedRows: number;
  readonly parts: number;
  readonly manifestKey: string | null;
  readonly resumed: boolean;
}

/**
 * Runs (or resumes) the extract of one dataset, holding its run lock (a dataset another live agent process is
 * extracting is refused with {@link ExtractAbort}). A run whose manifest is already stored is just closed. A run
 * that cannot be resumed because the source changed since it was interrupted is abandoned — its parts have no
 * manifest, so no reader ever sees them — and a fresh run starts from the committed watermark.
 */
export async function runExtract(
  config: AgentConfig,
  dataset: DatasetConfig,
  deps: ExtractDependencies,
): Promise<ExtractResult> {
  let release: () => void;
  try {
    release = new Journal(config.stateDir, dataset.name).lock();
  } catch (error) {
    if (error instanceof RunLocked) throw new ExtractAbort(`${dataset.name}: ${error.message}`);
    throw error;
  }
  try {
    return await extractOnce(config, dataset, deps);
  } catch (error) {
    if (!(error instanceof StaleRun)) throw error;
    new Journal(config.stateDir, dataset.name).abandonRun();
    return extractOnce(config, dataset, deps);
  } finally {
    release();
  }
}

async function extractOnce(
  config: AgentConfig,
  dataset: DatasetConfig,
  deps: ExtractDependencies,
): Promise<ExtractResult> {
  return deps.source.snapshot(async () => {
    const planned = await planExtract(config, dataset, deps);
    const { plan } = planned;
    const journal = new Journal(config.stateDir, dataset.name);
    if (planned.resuming) {
      const finished = await closeFinishedRun(dataset, plan.runId, deps.store, journal);
      if (finished) return finished;
    }
    await checkSourceGates(dataset, planned, deps.source);
    const spoolPath = journal.spoolPath();
    try {
      const pass = await anonymisingPass(dataset, planned, {
        source: deps.source,
        key: deps.key,
        spoolPath,
        progress: (rows) => deps.progress?.({ phase: 'read', rows }),
      });
      if (pass.rows === 0) return { ...NOTHING_NEW, dataset: dataset.name };
      const { suppressed, rows: suppressedRows } = kAnonymityGate(dataset, pass);

      if (!planned.resuming) journal.startRun(plan, pass.last);
      const { parts, rows } = await storeParts({
        dataset,
        runId: plan.runId,
        outputColumns: planned.outputColumns,
        spoolPath,
        suppressed,
        store: deps.store,
        journal,
        progress: (stored) => deps.progress?.({ phase: 'stored', rows: stored }),
      });
      // The manifest goes last: until it is stored no reader sees the run; then the watermark advances.
      const keyPolicy = dataset.columns[dataset.primaryKey];
      const writeKey = compileTransform(keyPolicy, {
        dataset: dataset.name,
        column: dataset.primaryKey,
        key: deps.key,
        asOf: plan.startedAt.slice(0, 10),
      });
      const keyAsWritten = (key: string | number) => (keyPolicy.policy === 'keep' ? key : writeKey(key));
      const manifest = runManifest(
        config,
        dataset,
        planned,
        { parts, rows, suppressedRows, last: pass.last },
        keyAsWritten,
      );
      const manifestBody = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      const manifestKey = landing.manifestKey(dataset.name, plan.runId);
      await deps.store.putIfAbsent(manifestKey, manifestBody, sha256(manifestBody));
      journal.finishRun(pass.last);
      return {
        dataset: dataset.name,
        runId: plan.runId,
        rows,
        suppressedRows,
        parts: parts.length,
        manifestKey,
        resumed: planned.resuming,
      };
    } finally {
      removeSpool(spoolPath);
    }
  });
}

/** The result of a run whose window held no new row: nothing is stored and the watermark stays. */
const NOTHING_NEW = { runId: null, rows: 0, suppressedRows: 0, parts: 0, manifestKey: null, resumed: false } as const;

/**
 * A resumed run interrupted after its manifest was stored misses only the watermark commit: commits the
 * position the manifest records and returns the run's result; null when the manifest is not stored.
 */
async function closeFinishedRun(
  dataset: DatasetConfig,
  runId: string,
  store: ObjectStore,
  journal: Journal,
): Promise<ExtractResult | null> {
  const manifestKey = landing.manifestKey(dataset.name, runId);
  // A listing, not a HEAD: in S3 a HEAD on a key that does not exist yet is 403 unless the role may list the bucket.
  if (!(await store.list(manifestKey)).includes(manifestKey)) return null;
  const manifest = JSON.parse(Buffer.from(await store.get(manifestKey)).toString('utf8')) as ExtractManifest;
  // The raw position the run's pass ended at (the manifest's has the key as written; an older journal lacks it,
  // and its agent wrote the raw position into the manifest).
  const open = journal.openRun();
  journal.finishRun(open && 'to' in open ? (open.to ?? null) : (manifest.watermark.to as WatermarkPosition | null));
  return {
    dataset: dataset.name,
    runId,
    rows: manifest.totalRows,
    suppressedRows: manifest.suppressedRows,
    parts: manifest.parts.length,
    manifestKey,
    resumed: true,
  };
}

/**
 * What the database checks before the pass: no row with a NULL watermark (it could never be extracted
 * incrementally) nor one of another kind than its declared type (one scan), and the `unique` data tests of the window (a GROUP BY; row tests run on the pass).
 */
async function checkSourceGates(dataset: DatasetConfig, planned: ExtractPlan, source: Source): Promise<void> {
  // The window compares the watermark with a bound of one kind: values of the other kind would be skipped.
  const { type, kind } = planned.watermark;
  const census = await source.columnCensus(dataset.table, dataset.watermark.column, kind);
  if (census.nulls > 0) {
    throw new ExtractAbort(
      `${dataset.name}: ${census.nulls} row(s) have a NULL watermark (${dataset.watermark.column}); they could never be extracted incrementally`,
    );
  }
  const otherKind = census.otherKind;
  if (otherKind > 0) {
    throw new ExtractAbort(
      `${dataset.name}: ${otherKind} row(s) hold a watermark (${dataset.watermark.column}, declared ${type}) ` +
        `that is not ${kind === 'number' ? 'a number' : 'text'}; the run window would skip them`,
    );
  }
  const { where, binds } = windowClause(dataset, planned.plan);
  const uniqueFailures = await uniqueTestFailures(source, dataset, where, binds);
  if (uniqueFailures.length > 0) throw dataTestsFailed(dataset, uniqueFailures);
}

/**
 * The k-anonymity gate: the groups smaller than k are suppressed, unless that would drop more than the
 * dataset's cap of rows, which refuses the run (the quasi-identifiers need coarsening).
 */
function kAnonymityGate(dataset: DatasetConfig, pass: PassResult): { suppressed: ReadonlySet<number>; rows: number } {
  const gate = pass.groups.smallerThan(dataset.k);
  if (gate.rows > dataset.maxSuppressedFraction * pass.rows) {
    throw new ExtractAbort(
      `${dataset.name}: k-anonymity (k=${dataset.k}) would suppress ${gate.rows} of ${pass.rows} rows, above the ${dataset.maxSuppressedFraction * 100}% cap; coarsen the quasi-identifiers`,
    );
  }
  return gate;
}
