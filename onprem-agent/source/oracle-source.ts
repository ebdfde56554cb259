/**
 * The Oracle source, through node-oracledb in thin mode (pure JavaScript: no Instant Client on the bank
 * server). One pool per agent process, drained on close (the CLI closes it on SIGTERM); a run reads inside a
 * READ ONLY transaction, so all its queries see the same read-consistent snapshot; large reads stream with a tuned
 * fetch size; every connection is released in `finally`, including when a stream fails half-way.
 */
import type { Readable } from 'node:stream';
import { type ColumnCensus, quoteIdentifier, type Source, type SourceColumn } from './source';

/** The part of node-oracledb's API the agent uses (so tests can supply a fake driver). */
export interface OracleDriver {
  readonly OUT_FORMAT_ARRAY: number;
  createPool(attributes: {
    user: string;
    password: string;
    connectString: string;
    poolMin: number;
    poolMax: number;
    poolIncrement: number;
  }): Promise<OraclePool>;
}

/** A node-oracledb pool. */
export interface OraclePool {
  getConnection(): Promise<OracleConnection>;
  close(drainSeconds?: number): Promise<void>;
}

/** A node-oracledb connection. */
export interface OracleConnection {
  execute(
    sql: string,
    binds: unknown[],
    options?: { outFormat?: number; maxRows?: number },
  ): Promise<{ rows?: unknown[][]; metaData?: { name: string; dbTypeName?: string }[] }>;
  queryStream(
    sql: string,
    binds: unknown[],
    options: { outFormat: number; fetchArraySize: number; prefetchRows: number },
  ): Readable;
  commit(): Promise<void>;
  close(): Promise<void>;
}

/** Rows fetched per round trip. */
export const FETCH_ARRAY_SIZE = 5000;

/** Rewrites `?` placeholders (the extractor's) to Oracle's positional `:1, :2, …`. */
export function oraclePlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `:${++n}`);
}

/** Oracle implementation of {@link Source}. */
export class OracleSource implements Source {
  private connection: OracleConnection | undefined;

  private constructor(
    private readonly driver: OracleDriver,
    private readonly pool: OraclePool,
  ) {}

  /** Opens the pool (thin mode is node-oracledb's default). The password is used here and never kept or logged. */
  static async open(
    options: { connectString: string; user: string; password: string },
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only where Oracle is configured
    driver: OracleDriver = require('oracledb') as OracleDriver,
  ): Promise<OracleSource> {
    const pool = await driver.createPool({
      user: options.user,
      password: options.password,
      connectString: options.connectString,
      poolMin: 0,
      poolMax: 2,
      poolIncrement: 1,
    });
    return new OracleSource(driver, pool);
  }

  async describe(table: string): Promise<SourceColumn[]> {
    return this.withConnection(async (connection) => {
      const result = await connection.execute(`SELECT * FROM ${quoteIdentifier(table)} WHERE 1 = 0`, [], {
        outFormat: this.driver.OUT_FORMAT_ARRAY,
      });
      return (result.metaData ?? []).map((m) => ({ name: m.name, type: (m.dbTypeName ?? '').toUpperCase() }));
    });
  }

  async *batches(sql: string, binds: readonly unknown[]): AsyncIterable<readonly unknown[][]> {
    const connection = this.connection ?? (await this.pool.getConnection());
    const stream = connection.queryStream(oraclePlaceholders(sql), [...binds], {
      outFormat: this.driver.OUT_FORMAT_ARRAY,
      fetchArraySize: FETCH_ARRAY_SIZE,
      prefetchRows: FETCH_ARRAY_SIZE + 1,
    });
    try {
      let batch: unknown[][] = [];
      for await (const row of stream) {
        batch.push(row as unknown[]);
        if (batch.length === FETCH_ARRAY_SIZE) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      stream.destroy();
      if (connection !== this.connection) await connection.close();
    }
  }

  async one(sql: string, binds: readonly unknown[]): Promise<unknown[] | undefined> {
    return this.withConnection(async (connection) => {
      const result = await connection.execute(oraclePlaceholders(sql), [...binds], {
        outFormat: this.driver.OUT_FORMAT_ARRAY,
        maxRows: 1,
      });
      return result.rows?.[0];
    });
  }

  /** Oracle columns have one declared type: a column never holds numbers and text at once. */
  async columnCensus(table: string, column: string): Promise<ColumnCensus> {
    const row = await this.one(
      `SELECT COUNT(*) FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(column)} IS NULL`,
      [],
    );
    return { nulls: Number(row![0]), otherKind: 0 };
  }

  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    const connection = await this.pool.getConnection();
    this.connection = connection;
    try {
      await connection.execute('SET TRANSACTION READ ONLY', []);
      return await fn();
    } finally {
      this.connection = undefined;
      try {
        await connection.commit();
      } finally {
        await connection.close();
      }
    }
  }

  /** Drains the pool, giving open work up to 10 seconds. */
  async close(): Promise<void> {
    await this.pool.close(10);
  }

  private async withConnection<T>(fn: (connection: OracleConnection) => Promise<T>): Promise<T> {
    if (this.connection) return fn(this.connection);
    const connection = await this.pool.getConnection();
    try {
      return await fn(connection);
    } finally {
      await connection.close();
    }
  }
}
