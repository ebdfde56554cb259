/**
 * The SQL of a snapshot and of a training set over a curated table, written once in the dialect DuckDB and
 * Trino (Athena) share: double-quoted names, `ROW_NUMBER() OVER`, `CAST(… AS DATE)`, `DATE '…'` literals,
 * `SUBSTR`, `LENGTH`, `||`. The source is `read_parquet([...])` on DuckDB and the Glue table on Athena; nothing
 * else differs. Every date the rules need is computed here and written as a literal, so the text of a query
 * is the whole of what it selects (it goes into the dataset version).
 */
import { quoteName, quoteText } from './duckdb-engine';

/** Column of every row version: the position of the manifest that added it in the table's log (1-based). */
export const SEQ_COLUMN = '_manifest_seq';
/** Column of every row version: the SHA-256 of the manifest that added it. */
export const MANIFEST_COLUMN = '_manifest';

/** What a training set selects and by which rules. */
export interface TrainingSetRules {
  readonly keyColumn: string;
  readonly watermarkColumn: string;
  readonly label: string;
  readonly features: readonly string[];
  readonly window: { readonly column: string; readonly months: number };
  readonly maturity: { readonly minAgeMonths: number };
}

/** ISO date `months` calendar months before `iso` (the day clamped to the month's length). */
export function monthsBefore(iso: string, months: number): string {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number);
  const index = y * 12 + (m - 1) - months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${String(year).padStart(4, '0')}-${pad(month)}-${pad(Math.min(d, last))}`;
}

/** The window column's date as text: an ISO date or timestamp's date, or a `YYYY-MM` month's first day. */
export function windowDateText(column: string): string {
  const c = quoteName(column);
  return `CASE WHEN LENGTH(${c}) = 7 THEN ${c} || '-01' ELSE SUBSTR(${c}, 1, 10) END`;
}

/** The window column as a date (a month as its first day). */
function windowDate(column: string): string {
  return `CAST(${windowDateText(column)} AS DATE)`;
}

/**
 * The window column as the last day it may stand for: a month as its last day, so a loan of that month counts
 * as mature only once the whole month is.
 */
function windowLastDate(column: string): string {
  const c = quoteName(column);
  return (
    `CASE WHEN LENGTH(${c}) = 7 THEN CAST(CAST(${c} || '-01' AS DATE) + INTERVAL '1' MONTH - INTERVAL '1' DAY AS DATE) ` +
    `ELSE CAST(SUBSTR(${c}, 1, 10) AS DATE) END`
  );
}

/**
 * The latest version of every key among the row versions of manifests 1 to `throughSeq`: the snapshot as of
 * the `throughSeq`th merged manifest. A key's versions are ordered by watermark, then by the manifest.
 */
export function snapshotSql(
  source: string,
  columns: readonly string[],
  rules: Pick<TrainingSetRules, 'keyColumn' | 'watermarkColumn'>,
  throughSeq: number,
) {
  const list = columns.map(quoteName).join(', ');
  return (
    `SELECT ${list} FROM (SELECT ${list}, ROW_NUMBER() OVER (PARTITION BY ${quoteName(rules.keyColumn)} ` +
    `ORDER BY ${quoteName(rules.watermarkColumn)} DESC, ${quoteName(SEQ_COLUMN)} DESC) AS "_rank" ` +
    `FROM ${source} WHERE ${quoteName(SEQ_COLUMN)} <= ${Math.floor(throughSeq)}) AS "versions" WHERE "_rank" = 1`
  );
}

/** The dates a training set as of `asOf` is bounded by. */
export function windowBounds(rules: TrainingSetRules, asOf: string): { from: string; matureBy: string } {
  return { from: monthsBefore(asOf, rules.window.months), matureBy: monthsBefore(asOf, rules.maturity.minAgeMonths) };
}

/**
 * The training set as of `asOf` (an ISO date): the snapshot's rows whose label is known and whose window
 * column lies from `window.months` before the as-of date (a month counted from its first day) to
 * `maturity.minAgeMonths` before it (a month counted from its last day). Selects the key, the label and the
 * features.
 */
export function trainingSetSql(
  source: string,
  columns: readonly string[],
  rules: TrainingSetRules,
  throughSeq: number,
  asOf: string,
): string {
  const { from, matureBy } = windowBounds(rules, asOf);
  const selected = [rules.keyColumn, rules.label, ...rules.features].map(quoteName).join(', ');
  return (
    `SELECT ${selected} FROM (${snapshotSql(source, columns, rules, throughSeq)}) AS "snapshot" ` +
    `WHERE ${quoteName(rules.label)} IS NOT NULL AND ${windowDate(rules.window.column)} >= DATE ${quoteText(from)} ` +
    `AND ${windowLastDate(rules.window.column)} <= DATE ${quoteText(matureBy)}`
  );
}
