/**
 * A training channel's CSV line as one DuckDB expression: the label, then the row the scorer's
 * {@link Vectorizer} builds from the same record under the same feature spec, one field per column. DuckDB writes
 * the channels itself (a COPY of millions of rows in seconds, where formatting them in JavaScript took most of
 * Prepare's time); the fields mean what the Vectorizer's float32 values are, so training sees what serving sees:
 * - a numeric value as float32 (rounded as a Float32Array rounds), written as that float32's exact double in the
 *   shortest digits that give it back, positionally (`0.10000000149011612`, `5.0`, `0.00000010000000116860974`);
 *   a missing value is an empty field;
 * - a one-hot feature as its categories' 0/1 fields, all empty for a missing or unknown category;
 * - an ordinal feature as its category's position, empty for a missing or unknown category.
 * The test holds the two to each other value for value, and XGBoost to reading both alike.
 */
import type { FeatureSpec } from '../../lambdas/features/feature-spec';
import { quoteName, quoteText } from './duckdb-engine';

/**
 * DuckDB's exponent form of a double (`9.999999974752427e-07`, `1.0000000200408773e+20`) in positional digits
 * (`0.0000009999999974752427`, `100000002004087730000`), the same digits: XGBoost's CSV reader misreads the
 * exponent form by an ulp or two, and reads positional digits exactly over a wider range.
 */
function positional(text: string): string {
  const part = (group: number) => `regexp_extract(${text}, '^(-?)([0-9])(?:[.]([0-9]+))?e([-+][0-9]+)$', ${group})`;
  const digits = `(${part(2)} || ${part(3)})`;
  const exponent = `CAST(${part(4)} AS INTEGER)`;
  return (
    `(${part(1)} || CASE WHEN ${exponent} < 0 THEN '0.' || repeat('0', -${exponent} - 1) || ${digits} ` +
    `ELSE rpad(${digits}, ${exponent} + 1, '0') END)`
  );
}

/**
 * The statement that writes the channel lines of `source`'s rows (a table or a parenthesised query holding
 * `label` (0 or 1) and every feature of `spec`: numeric columns as DOUBLE within the float32 range, categorical
 * ones as VARCHAR, NULL when missing) in its order to `path`, one line per row (DuckDB keeps a table's insertion
 * order through a scan, a filter and this projection). A line holds no quote, tab or line break, so it is
 * written unquoted as a single-column tab-delimited CSV.
 */
export function channelCopySql(spec: FeatureSpec, label: string, source: string, path: string) {
  // Computed once per row: each numeric value's text, and each categorical feature's 1-based position in the
  // spec's list (NULL when missing or unknown).
  const columns: string[] = [];
  const fields = [`CAST(CAST(${quoteName(label)} AS INTEGER) AS VARCHAR)`];
  for (const feature of spec.features) {
    const value = quoteName(feature.name);
    if (feature.type === 'numeric') {
      const text = quoteName(`__text_${columns.length}`);
      columns.push(`CAST(CAST(CAST(${value} AS FLOAT) AS DOUBLE) AS VARCHAR) AS ${text}`);
      fields.push(
        `CASE WHEN ${text} IS NULL THEN '' WHEN contains(${text}, 'e') THEN ${positional(text)} ELSE ${text} END`,
      );
      continue;
    }
    const k = feature.categories.length;
    if (feature.encoding === 'one-hot' && k === 0) continue; // no column in the row
    const p = quoteName(`__position_${columns.length}`);
    columns.push(
      `NULLIF(list_position([${feature.categories.map(quoteText).join(', ')}]::VARCHAR[], ${value}), 0) AS ${p}`,
    );
    fields.push(
      feature.encoding === 'ordinal'
        ? `COALESCE(CAST(${p} - 1 AS VARCHAR), '')`
        : `CASE WHEN ${p} IS NULL THEN repeat(',', ${k - 1}) ELSE repeat('0,', ${p} - 1) || '1' || repeat(',0', ${k} - ${p}) END`,
    );
  }
  const rows = columns.length > 0 ? `(SELECT *, ${columns.join(', ')} FROM ${source})` : source;
  return (
    `COPY (SELECT ${fields.join(` || ',' || `)} AS line FROM ${rows} AS r) ` +
    `TO ${quoteText(path)} (FORMAT CSV, HEADER false, DELIMITER '\t', QUOTE '"')`
  );
}
