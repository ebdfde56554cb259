/**
 * The deterministic train/validation/test split (70/15/15) by the hashed pseudonymous key, salted with a
 * constant so a key stays in the same split across dataset versions: the champion never saw the candidate's
 * test rows in training. The same hash and thresholds in JavaScript and in DuckDB.
 */
import { createHash } from 'node:crypto';
import { quoteName, quoteText } from './duckdb-engine';

/** Split salt: changing it reshuffles every split, so it is versioned. */
export const SPLIT_SALT = 'mlp-split/v1';
/** The splits, in the order they are reported. */
export const SPLITS = ['train', 'validation', 'test'] as const;
/** A split. */
export type Split = (typeof SPLITS)[number];

/** Which split a pseudonymous key falls in. */
export function splitOf(key: string): Split {
  const h = createHash('sha256').update(`${SPLIT_SALT}\0${key}`).digest().readUInt32BE(0) / 2 ** 32;
  return h < 0.7 ? 'train' : h < 0.85 ? 'validation' : 'test';
}

/** The split of a key column as a DuckDB expression: {@link splitOf}'s hash and thresholds. */
export function splitSql(keyColumn: string): string {
  const hash =
    `CAST(CAST(('0x' || SUBSTR(sha256(${quoteText(SPLIT_SALT)} || chr(0) || CAST(${quoteName(keyColumn)} AS VARCHAR)), 1, 8)) ` +
    'AS UBIGINT) AS DOUBLE) / CAST(4294967296 AS DOUBLE)';
  return `CASE WHEN ${hash} < CAST(0.7 AS DOUBLE) THEN 'train' WHEN ${hash} < CAST(0.85 AS DOUBLE) THEN 'validation' ELSE 'test' END`;
}
