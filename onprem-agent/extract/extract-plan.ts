/**
 * The plan of an extract run: which columns leave (every source column needs a policy, fail closed), the run
 * (resumed from the journal when its policy is unchanged, else a new window from the committed watermark up to
 * now minus the lag), and the keyset-paged query that reads that window.
 */
import type { AgentConfig, DatasetConfig } from '../config/agent-config';
import { quoteIdentifier, type Source, type SourceColumn } from '../source/source';
import { ExtractAbort } from './extract-abort';
import { Journal, type RunPlan } from './journal';
import { sha256 } from './sha256';

/** The plan of a dataset extract, shown by `--dry-run`. */
export interface ExtractPlan {
  readonly dataset: string;
  readonly outputColumns: readonly string[];
  readonly dropped: readonly string[];
  readonly sql: string;
  readonly binds: readonly unknown[];
  readonly plan: RunPlan;
  readonly resuming: boolean;
  /** The watermark column's declared type, and whether it holds numbers (epoch seconds) or text (ISO times). */
  readonly watermark: { readonly type: string; readonly kind: 'number' | 'text' };
}

/** Builds the plan; throws {@link ExtractAbort} if a source column lacks a policy or a policy names no column. */
export async function planExtract(
  config: AgentConfig,
  dataset: DatasetConfig,
  deps: { readonly source: Source; readonly now: () => Date },
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
  const wmColumn = columns.find((c) => c.name === dataset.watermark.column)!;
  const numeric = isNumericType(wmColumn.type);
  let plan: RunPlan;
  if (resuming) {
    plan = open;
  } else {
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
  // A dropped column is not read, unless the run needs it: the watermark and key position, or a data test.
  const needed = new Set([dataset.watermark.column, dataset.primaryKey, ...dataset.tests.map((t) => t.column)]);
  const selected = columns.filter((c) => dataset.columns[c.name].policy !== 'drop' || needed.has(c.name));
  const select = selected.map((c) => quoteIdentifier(c.name)).join(', ');
  const order = `${quoteIdentifier(dataset.watermark.column)}, ${quoteIdentifier(dataset.primaryKey)}`;
  return {
    dataset: dataset.name,
    columns: selected,
    outputColumns,
    dropped: columns.filter((c) => dataset.columns[c.name].policy === 'drop').map((c) => c.name),
    sql: `SELECT ${select} FROM ${quoteIdentifier(dataset.table)} WHERE ${where} ORDER BY ${order}`,
    binds,
    plan,
    resuming,
    watermark: { type: wmColumn.type, kind: numeric ? 'number' : 'text' },
  };
}

/** Whether a declared column type holds numbers (a numeric watermark is compared with epoch seconds). */
export function isNumericType(type: string): boolean {
  return /INT|REAL|NUM|FLOA|DOUB/i.test(type);
}

/** Keyset window: after the committed (watermark, key) position, up to the run's upper bound. */
export function windowClause(dataset: DatasetConfig, plan: RunPlan): { where: string; binds: unknown[] } {
  const wm = quoteIdentifier(dataset.watermark.column);
  const pk = quoteIdentifier(dataset.primaryKey);
  if (!plan.from) return { where: `${wm} <= ?`, binds: [plan.upperBound] };
  return {
    where: `(${wm} > ? OR (${wm} = ? AND ${pk} > ?)) AND ${wm} <= ?`,
    binds: [plan.from.value, plan.from.value, plan.from.key, plan.upperBound],
  };
}
