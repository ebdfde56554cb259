/**
 * What the extractor needs from a database, and identifier quoting. Queries are built only from identifiers the
 * config allow-listed (and that match a strict pattern); every value travels as a bind parameter.
 */
import { SQL_IDENTIFIER } from '../config/agent-config';

/** A source column and its declared type. */
export interface SourceColumn {
  readonly name: string;
  readonly type: string;
}

/** What {@link Source.columnCensus} counts. */
export interface ColumnCensus {
  readonly nulls: number;
  readonly otherKind: number;
}

/**
 * Read access the extractor needs from a database. SQL reaches a source with `?` placeholders; a source
 * rewrites them to its driver's syntax.
 */
export interface Source {
  describe(table: string): Promise<SourceColumn[]>;
  /**
   * All rows of a query, as arrays in column order, streamed in batches (a few thousand rows each): one
   * await per batch, not per row, keeps the extract's per-row cost down.
   */
  batches(sql: string, binds: readonly unknown[]): AsyncIterable<readonly unknown[][]>;
  /** The first row of a query. */
  one(sql: string, binds: readonly unknown[]): Promise<unknown[] | undefined>;
  /**
   * In one scan of `table`: the rows whose `column` is NULL, and those whose value is not stored as a number
   * (`kind` number) or as text (`kind` text). A typed database (Oracle) has none of the latter; SQLite stores
   * each value with its own type, so a column may hold both.
   */
  columnCensus(table: string, column: string, kind: 'number' | 'text'): Promise<ColumnCensus>;
  /** Runs `fn` inside one read-consistent snapshot. */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Quotes an identifier after checking it against the strict pattern (tables may be schema-qualified). */
export function quoteIdentifier(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => SQL_IDENTIFIER.test(p))) throw new Error('invalid SQL identifier');
  return parts.map((p) => `"${p}"`).join('.');
}

/** The source a config names cannot be opened (a missing file, an unreachable database): a configuration problem. */
export class SourceUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceUnavailable';
  }
}
