/**
 * The embedded source: a read-only SQLite database (better-sqlite3). Queries are built only from identifiers
 * the config allow-listed (and that match a strict pattern); every value travels as a bind parameter. Reads
 * of one run happen inside a single read transaction, so both passes see the same snapshot.
 */
import Database from 'better-sqlite3';
import { SQL_IDENTIFIER } from '../config/agent-config';

/** A source column and its declared type. */
export interface SourceColumn {
  readonly name: string;
  readonly type: string;
}

/** Read access the extractor needs from a database. */
export interface Source {
  describe(table: string): SourceColumn[];
  /** All rows of a query, as arrays in column order. */
  stream(sql: string, binds: readonly unknown[]): IterableIterator<unknown[]>;
  /** The first row of a query. */
  one(sql: string, binds: readonly unknown[]): unknown[] | undefined;
  /** Runs `fn` inside one read snapshot. */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  close(): void;
}

/** Quotes an identifier after checking it against the strict pattern (tables may be schema-qualified). */
export function quoteIdentifier(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => SQL_IDENTIFIER.test(p))) throw new Error('invalid SQL identifier');
  return parts.map((p) => `"${p}"`).join('.');
}

/** SQLite implementation of {@link Source}. */
export class SqliteSource implements Source {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
  }

  describe(table: string): SourceColumn[] {
    return this.db
      .prepare(`SELECT * FROM ${quoteIdentifier(table)} LIMIT 0`)
      .columns()
      .map((c) => ({ name: c.name, type: (c.type ?? '').toUpperCase() }));
  }

  stream(sql: string, binds: readonly unknown[]): IterableIterator<unknown[]> {
    return this.db
      .prepare(sql)
      .raw(true)
      .iterate(...binds) as IterableIterator<unknown[]>;
  }

  one(sql: string, binds: readonly unknown[]): unknown[] | undefined {
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

  close(): void {
    this.db.close();
  }
}
