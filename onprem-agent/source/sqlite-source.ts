/**
 * The embedded source: a read-only SQLite database (better-sqlite3). Reads of one run happen inside a single
 * read transaction, so all its queries see the same snapshot.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type ColumnCensus, quoteIdentifier, type Source, type SourceColumn, SourceUnavailable } from './source';

/** Rows per batch streamed to the extractor. */
const BATCH_ROWS = 2000;

/** SQLite implementation of {@link Source}. */
export class SqliteSource implements Source {
  private readonly db: Database.Database;

  /** Opens the file read-only; a path that does not exist is refused with its name (nothing is created). */
  constructor(path: string) {
    if (!existsSync(path)) {
      throw new SourceUnavailable(
        `the SQLite source ${path} does not exist (mlp seed builds the synthetic bank there)`,
      );
    }
    this.db = new Database(path, { readonly: true, fileMustExist: true });
  }

  /**
   * Column names and types. SQLite declares no type for expression columns of a view: those report the storage
   * class of their first non-null value (REAL, INTEGER, TEXT, BLOB), or nothing when the column is all NULL.
   */
  async describe(table: string): Promise<SourceColumn[]> {
    const quoted = quoteIdentifier(table);
    return this.db
      .prepare(`SELECT * FROM ${quoted} LIMIT 0`)
      .columns()
      .map((c) => {
        if (c.type) return { name: c.name, type: c.type.toUpperCase() };
        const column = quoteIdentifier(c.name);
        const row = this.db
          .prepare(`SELECT typeof(${column}) FROM ${quoted} WHERE ${column} IS NOT NULL LIMIT 1`)
          .raw(true)
          .get() as [string] | undefined;
        return { name: c.name, type: (row?.[0] ?? '').toUpperCase() };
      });
  }

  async *batches(sql: string, binds: readonly unknown[]): AsyncIterable<readonly unknown[][]> {
    let batch: unknown[][] = [];
    for (const row of this.db
      .prepare(sql)
      .raw(true)
      .iterate(...binds) as IterableIterator<unknown[]>) {
      batch.push(row);
      if (batch.length === BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async one(sql: string, binds: readonly unknown[]): Promise<unknown[] | undefined> {
    return this.db
      .prepare(sql)
      .raw(true)
      .get(...binds) as unknown[] | undefined;
  }

  async columnCensus(table: string, column: string, kind: 'number' | 'text'): Promise<ColumnCensus> {
    const types = kind === 'number' ? "('integer', 'real', 'null')" : "('text', 'null')";
    const c = quoteIdentifier(column);
    const row = await this.one(
      `SELECT COUNT(*) - COUNT(${c}), COUNT(*) FILTER (WHERE typeof(${c}) NOT IN ${types}) FROM ${quoteIdentifier(table)}`,
      [],
    );
    return { nulls: Number(row![0]), otherKind: Number(row![1]) };
  }

  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN');
    try {
      return await fn();
    } finally {
      this.db.exec('COMMIT');
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
