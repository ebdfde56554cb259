/**
 * The embedded DuckDB the curated store runs on, in Lambda and locally: an in-memory database over local files
 * (objects are streamed to and from S3 by the artifact store; no extension is loaded or downloaded), its memory
 * bounded by `memory_limit` and spilling to a scratch directory beyond it, so the rows a step handles are
 * bounded by disk, not by the function's memory.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';

/** Limits of an engine. */
export interface EngineLimits {
  /** DuckDB's memory limit in MB. */
  readonly memoryMb: number;
  /** Worker threads. */
  readonly threads: number;
}

/**
 * Limits for this process: in Lambda, 60% of the function's memory (the rest is Node, the vectorizer and the
 * upload buffers) and two threads; elsewhere 1 GB. `MLP_DUCKDB_MEMORY_MB` overrides the memory.
 */
export function engineLimits(env: NodeJS.ProcessEnv = process.env): EngineLimits {
  const override = Number(env.MLP_DUCKDB_MEMORY_MB);
  const lambdaMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const memoryMb =
    Number.isFinite(override) && override >= 64
      ? Math.floor(override)
      : Number.isFinite(lambdaMb) && lambdaMb > 0
        ? Math.floor(lambdaMb * 0.6)
        : 1024;
  return { memoryMb, threads: 2 };
}

/** Quotes an SQL identifier (DuckDB and Trino both take double quotes). */
export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. */
export function quoteText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** One engine session: a database, a connection and a scratch directory, all gone after {@link close}. */
export class Engine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    /** A directory for this session's files (downloads, outputs), removed on close. */
    readonly scratch: string,
  ) {}

  /** Opens a session with `limits`. */
  static async open(limits: EngineLimits = engineLimits()): Promise<Engine> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const scratch = mkdtempSync(join(tmpdir(), 'mlp-curated-'));
    const spill = join(scratch, 'spill');
    mkdirSync(spill);
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        memory_limit: `${limits.memoryMb}MB`,
        threads: String(limits.threads),
        temp_directory: spill,
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        preserve_insertion_order: 'true',
      });
      return new Engine(instance, await instance.connect(), scratch);
    } catch (error) {
      instance?.closeSync();
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs statements. */
  async run(sql: string): Promise<void> {
    await sanitised(this.connection.run(sql));
  }

  /**
   * Creates table `name` with one VARCHAR column `value` holding `values`, appended in batches rather than
   * written into SQL text (keys of a join, however many).
   */
  async createTextTable(name: string, values: Iterable<string>): Promise<void> {
    await this.run(`CREATE TABLE ${quoteName(name)} (value VARCHAR)`);
    const appender = await sanitised(this.connection.createAppender(name));
    try {
      for (const value of values) {
        appender.appendVarchar(value);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /** Rows of a query as objects (numbers for integers that fit, strings, null). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    const reader = await sanitised(this.connection.runAndReadAll(sql));
    return reader.getRowObjectsJS().map((row) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? Number(v) : v;
      return out;
    });
  }

  /**
   * Calls `each` with every chunk of a query's result (up to 2,048 rows), column by column: `columns[c][r]` is
   * row `r`'s value of column `c` (numbers for DOUBLE, strings for VARCHAR, null). Memory holds one chunk; reading
   * by column spares an array per row.
   */
  async forEachChunk(
    sql: string,
    each: (columns: readonly DuckDBValue[][], rowCount: number) => void,
  ): Promise<number> {
    const result = await sanitised(this.connection.stream(sql));
    let count = 0;
    for (;;) {
      const chunk = await sanitised(result.fetchChunk());
      if (!chunk || chunk.rowCount === 0) break;
      each(chunk.getColumns(), chunk.rowCount);
      count += chunk.rowCount;
    }
    return count;
  }

  /** Closes the session and removes its scratch directory. */
  close(): void {
    try {
      this.connection.closeSync();
      this.instance.closeSync();
    } finally {
      rmSync(this.scratch, { recursive: true, force: true });
    }
  }
}

/**
 * A DuckDB failure without its detail: DuckDB's messages quote the values they failed on (a customer's data),
 * so only their kind (`Conversion Error`, `Out of Memory Error`, …) goes on, into logs and execution history.
 */
export class EngineError extends Error {
  constructor(kind: string) {
    super(`DuckDB failed: ${kind} (details withheld: they may quote data values)`);
    this.name = 'EngineError';
  }
}

async function sanitised<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const kind = /^([A-Za-z ]{1,40} Error):/.exec((error as Error).message ?? '')?.[1] ?? 'an error';
    throw new EngineError(kind);
  }
}

/** Runs `work` in a session, closing it afterwards whatever happens. */
export async function withEngine<T>(work: (engine: Engine) => Promise<T>, limits?: EngineLimits): Promise<T> {
  const engine = await Engine.open(limits);
  try {
    return await work(engine);
  } finally {
    engine.close();
  }
}
