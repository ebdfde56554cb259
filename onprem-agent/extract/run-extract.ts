/**
 * One extract run of one dataset: plan (fail closed on any column without a policy), then one pass over the
 * source that anonymises every row, checks the row data tests, counts the k-anonymity groups and spools the
 * output lines locally; only when the tests and the k-anonymity gate pass are gzip CSV parts built from the
 * spool (without the suppressed groups) and uploaded, the manifest stored last, and the watermark advanced.
 * A killed run resumes from the journal: parts are deterministic, stored ones are not sent again, and the
 * manifest appears exactly once.
 */
import { createHash } from 'node:crypto';
import type { AgentConfig, DatasetConfig } from '../config/agent-config';
import { compileTransform, type ColumnTransform, type SourceValue } from '../anonymise/column-transform';
import type { ObjectStore } from '../sink/object-store';
import { quoteIdentifier, type Source, type SourceColumn } from '../source/source';
import { csvLine } from './csv';
import { type ExtractManifest, MANIFEST_FORMAT } from '../../contracts/extract-manifest';
import { landing } from '../../contracts/s3-layout';
import { Journal, RunLocked, type RunPlan, type WatermarkPosition } from './journal';
import { RowTests, uniqueTestFailures } from './data-tests';
import { KAnonymityGroups } from './k-anonymity';
import { lineMember, readSpool, removeSpool, SpoolWriter, withoutGroups } from './spool';

/** Version written into every manifest. */
export const AGENT_VERSION = '0.1.0';
/** Source rows per spooled chunk (one gzip member; a part holds whole chunks). */
const SPOOL_CHUNK_ROWS = 1000;

/** A refusal to extract: the data or the policy does not allow it. Nothing has been written when it is thrown. */
export class ExtractAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractAbort';
  }
}

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

/** The plan of a dataset extract, shown by `--dry-run`. */
export interface ExtractPlan {
  readonly dataset: string;
  readonly outputColumns: readonly string[];
  readonly dropped: readonly string[];
  readonly sql: string;
  readonly binds: readonly unknown[];
  readonly plan: RunPlan;
  readonly resuming: boolean;
}

/** Builds the plan; throws {@link ExtractAbort} if a source column lacks a policy or a policy names no column. */
export async function planExtract(
  config: AgentConfig,
  dataset: DatasetConfig,
  deps: ExtractDependencies,
): Promise<ExtractPlan & { columns: SourceColumn[] }> {
  const columns = await deps.source.describe(dataset.table);
  const names = new Set(columns.map((c) => c.name));
  const unpoliced = columns.filter((c) => !(c.name in dataset.columns)).map((c) => c.name);
  if (unpoliced.length > 0) {
    throw new ExtractAbort(
      `${dataset.name}: ${unpoliced.length} source column(s) have no policy (${unpoliced.join(', ')}); every column needs drop, keep, hmac or generalise`,
    );
  }
  const missing = Object.keys(dataset.columns).filter((c) => !names.has(c));
  if (missing.length > 0)
    throw new ExtractAbort(`${dataset.name}: policy names column(s) the source lacks: ${missing.join(', ')}`);

  const journal = new Journal(config.stateDir, dataset.name);
  const policySha256 = sha256(JSON.stringify({ dataset, kid: config.pseudonymisation.kid }));
  const open = journal.openRun();
  const resuming = open !== null && open.policySha256 === policySha256;
  let plan: RunPlan;
  if (resuming) {
    plan = open;
  } else {
    const wmColumn = columns.find((c) => c.name === dataset.watermark.column)!;
    const numeric = /INT|REAL|NUM|FLOA|DOUB/.test(wmColumn.type);
    const bound = new Date(deps.now().getTime() - dataset.watermark.lagSeconds * 1000);
    const upperBound = numeric ? Math.floor(bound.getTime() / 1000) : bound.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const from = journal.watermark();
    const startedAt = deps
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    const runId = `${startedAt.replace(/[-:]/g, '')}-${sha256(JSON.stringify({ from, upperBound, policySha256 })).slice(0, 8)}`;
    plan = { runId, startedAt, from, upperBound, policySha256 };
  }
  const outputColumns = columns.filter((c) => dataset.columns[c.name].policy !== 'drop').map((c) => c.name);
  const { where, binds } = windowClause(dataset, plan);
  const select = columns.map((c) => quoteIdentifier(c.name)).join(', ');
  const order = `${quoteIdentifier(dataset.watermark.column)}, ${quoteIdentifier(dataset.primaryKey)}`;
  return {
    dataset: dataset.name,
    columns,
    outputColumns,
    dropped: columns.filter((c) => dataset.columns[c.name].policy === 'drop').map((c) => c.name),
    sql: `SELECT ${select} FROM ${quoteIdentifier(dataset.table)} WHERE ${where} ORDER BY ${order}`,
    binds,
    plan,
    resuming,
  };
}

/** Keyset window: after the committed (watermark, key) position, up to the run's upper bound. */
function windowClause(dataset: DatasetConfig, plan: RunPlan): { where: string; binds: unknown[] } {
  const wm = quoteIdentifier(dataset.watermark.column);
  const pk = quoteIdentifier(dataset.primaryKey);
  if (!plan.from) return { where: `${wm} <= ?`, binds: [plan.upperBound] };
  return {
    where: `(${wm} > ? OR (${wm} = ? AND ${pk} > ?)) AND ${wm} <= ?`,
    binds: [plan.from.value, plan.from.value, plan.from.key, plan.upperBound],
  };
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

/** Raised when a resumed run cannot reproduce a part it already stored: the source changed since the crash. */
class StaleRun extends Error {}

async function extractOnce(
  config: AgentConfig,
  dataset: DatasetConfig,
  deps: ExtractDependencies,
): Promise<ExtractResult> {
  return deps.source.snapshot(async () => {
    const planned = await planExtract(config, dataset, deps);
    const { plan, columns } = planned;
    const journal = new Journal(config.stateDir, dataset.name);
    if (planned.resuming) {
      const manifestKey = landing.manifestKey(dataset.name, plan.runId);
      if (await deps.store.head(manifestKey)) {
        // Interrupted after the manifest was stored: only the watermark commit is missing.
        const manifest = JSON.parse(Buffer.from(await deps.store.get(manifestKey)).toString('utf8')) as ExtractManifest;
        journal.finishRun(manifest.watermark.to as WatermarkPosition | null); // the position this agent wrote
        return {
          dataset: dataset.name,
          runId: plan.runId,
          rows: manifest.totalRows,
          suppressedRows: manifest.suppressedRows,
          parts: manifest.parts.length,
          manifestKey,
          resumed: true,
        };
      }
    }
    const table = quoteIdentifier(dataset.table);
    const { where, binds } = windowClause(dataset, plan);

    const nullCount = await deps.source.one(
      `SELECT COUNT(*) FROM ${table} WHERE ${quoteIdentifier(dataset.watermark.column)} IS NULL`,
      [],
    );
    const nullWatermarks = Number(nullCount![0]);
    if (nullWatermarks > 0) {
      throw new ExtractAbort(
        `${dataset.name}: ${nullWatermarks} row(s) have a NULL watermark (${dataset.watermark.column}); they could never be extracted incrementally`,
      );
    }
    // Unique tests need the database; row tests run on the single pass below, before anything is uploaded.
    const uniqueFailures = await uniqueTestFailures(deps.source, dataset, where, binds);
    if (uniqueFailures.length > 0) throw dataTestsFailed(dataset, uniqueFailures);

    const asOf = String(plan.upperBound)
      .slice(0, 10)
      .match(/^\d{4}-\d{2}-\d{2}$/)
      ? String(plan.upperBound).slice(0, 10)
      : plan.startedAt.slice(0, 10);
    const transforms = new Map<string, ColumnTransform>();
    for (const c of columns) {
      transforms.set(
        c.name,
        compileTransform(dataset.columns[c.name], { dataset: dataset.name, column: c.name, key: deps.key, asOf }),
      );
    }

    // The single pass over the source: anonymise every row, count its k-anonymity group (the generalised
    // quasi-identifiers) and spool the line locally until the run knows which groups are too small.
    const names = columns.map((c) => c.name);
    const outIndex = planned.outputColumns.map((name) => names.indexOf(name));
    const outTransforms = planned.outputColumns.map((name) => transforms.get(name)!);
    const wmAt = names.indexOf(dataset.watermark.column);
    const pkAt = names.indexOf(dataset.primaryKey);
    const groups = new KAnonymityGroups(
      dataset.quasiIdentifiers.map((name) => ({
        transform: transforms.get(name)!,
        column: names.indexOf(name),
        output: planned.outputColumns.indexOf(name),
      })),
    );
    const rowTests = new RowTests(dataset.tests, names);
    const spoolPath = journal.spoolPath();
    const spool = new SpoolWriter(spoolPath, Math.min(SPOOL_CHUNK_ROWS, dataset.partRows));
    try {
      let last: WatermarkPosition | null = null;
      const fields: (string | null)[] = new Array(outIndex.length);
      try {
        for await (const batch of deps.source.batches(planned.sql, binds)) {
          for (const row of batch) {
            rowTests.check(row);
            for (let i = 0; i < outIndex.length; i++) fields[i] = outTransforms[i](row[outIndex[i]] as SourceValue);
            spool.append(groups.add(row, fields), csvLine(fields));
          }
          const row = batch[batch.length - 1];
          last = { value: row[wmAt] as string | number, key: row[pkAt] as string | number };
          await spool.settle();
          deps.progress?.({ phase: 'read', rows: spool.records });
        }
      } finally {
        await spool.close();
      }
      const rowFailures = rowTests.failures();
      if (rowFailures.length > 0) throw dataTestsFailed(dataset, rowFailures);
      const total = spool.records;
      if (total === 0)
        return {
          dataset: dataset.name,
          runId: null,
          rows: 0,
          suppressedRows: 0,
          parts: 0,
          manifestKey: null,
          resumed: false,
        };
      const { suppressed, rows: suppressedRows } = groups.smallerThan(dataset.k);
      if (suppressedRows > dataset.maxSuppressedFraction * total) {
        throw new ExtractAbort(
          `${dataset.name}: k-anonymity (k=${dataset.k}) would suppress ${suppressedRows} of ${total} rows, above the ${dataset.maxSuppressedFraction * 100}% cap; coarsen the quasi-identifiers`,
        );
      }

      // Parts from the spool, without the suppressed groups' rows.
      if (!planned.resuming) journal.startRun(plan);
      const stored = journal.parts();
      const header = lineMember(csvLine(planned.outputColumns));
      const parts: { key: string; rows: number; bytes: number; sha256: string }[] = [];
      let members: Buffer[] = [];
      let partRows = 0;
      let rows = 0;
      const flush = async () => {
        if (partRows === 0) return;
        const index = parts.length;
        const key = landing.partKey(dataset.name, plan.runId, index);
        const body = Buffer.concat([header, ...members]);
        const digest = sha256(body);
        const part = { index, key, rows: partRows, bytes: body.length, sha256: digest };
        const previous = stored.get(index);
        if (previous && previous.sha256 !== digest) {
          throw new StaleRun(`${dataset.name}: resumed part ${index} differs from the stored one`);
        }
        if (!previous) {
          await deps.store.putIfAbsent(key, body, digest);
          journal.partStored(part);
        }
        parts.push(part);
        rows += partRows;
        members = [];
        partRows = 0;
        deps.progress?.({ phase: 'stored', rows });
      };
      for (const chunk of readSpool(spoolPath)) {
        const kept = withoutGroups(chunk, suppressed);
        if (!kept) continue;
        if (partRows + kept.rows > dataset.partRows) await flush();
        members.push(kept.member);
        partRows += kept.rows;
      }
      await flush();

      const manifest: ExtractManifest = {
        format: MANIFEST_FORMAT,
        dataset: dataset.name,
        runId: plan.runId,
        createdAt: plan.startedAt,
        parts: parts.map(({ key, rows: r, bytes, sha256: s }) => ({ key, rows: r, bytes, sha256: s })),
        totalRows: rows,
        suppressedRows,
        schema: Object.fromEntries(planned.outputColumns.map((name) => [name, outputType(dataset, columns, name)])),
        policySha256: plan.policySha256,
        kid: config.pseudonymisation.kid,
        k: dataset.k,
        quasiIdentifiers: dataset.quasiIdentifiers,
        watermark: { column: dataset.watermark.column, from: plan.from, to: last, upperBound: plan.upperBound },
        agentVersion: AGENT_VERSION,
      };
      const manifestBody = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      const manifestKey = landing.manifestKey(dataset.name, plan.runId);
      await deps.store.putIfAbsent(manifestKey, manifestBody, sha256(manifestBody));
      journal.finishRun(last);
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

/** Output type of a column in the manifest schema. */
function outputType(dataset: DatasetConfig, columns: SourceColumn[], name: string): string {
  const policy = dataset.columns[name];
  if (policy.policy !== 'keep') return 'string';
  const type = columns.find((c) => c.name === name)!.type;
  if (/INT/.test(type)) return 'integer';
  if (/REAL|FLOA|DOUB|NUM|DEC/.test(type)) return 'number';
  return 'string';
}

function dataTestsFailed(dataset: DatasetConfig, failures: readonly string[]): ExtractAbort {
  return new ExtractAbort(`${dataset.name}: data tests failed: ${failures.join('; ')}`);
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
