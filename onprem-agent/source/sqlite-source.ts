/**
 * The embedded source: a read-only SQLite database (better-sqlite3). Reads of one run happen inside a single
 * read transaction, so both passes see the same snapshot.
 */
import Database from 'better-sqlite3';
import { quoteIdentifier, type Source, type SourceColumn } from './source';

/** SQLite implementation of {@link Source}. */
export class SqliteSource implements Source {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
  }

  async describe(table: string): Promise<SourceColumn[]> {
    return this.db
      .prepare(`SELECT * FROM ${quoteIdentifier(table)} LIMIT 0`)
      .columns()
      .map((c) => ({ name: c.name, type: (c.type ?? '').toUpperCase() }));
  }

  async *stream(sql: string, binds: readonly unknown[]): AsyncIterable<unknown[]> {
    yield* this.db
      .prepare(sql)
      .raw(true)
      .iterate(...binds) as IterableIterator<unknown[]>;
  }

  async one(sql: string, binds: readonly unknown[]): Promise<unknown[] | undefined> {
    return this.db
      .prepare(sql)
      .raw(true)
      .get(...binds) as unknown[] | undefined;
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
