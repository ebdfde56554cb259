/**
 * Athena's local stand-in, for QueryTrainingSet's `athena:startQueryExecution.sync`: the statement MergeExtract
 * wrote runs on DuckDB over the files of the tables the local catalog names, as Athena would run it over the
 * Glue tables. It runs what the platform sends Athena, UNLOAD to Parquet, and refuses the rest by name. As
 * Athena does, it reads every object of a table's location whose name starts with neither `_` nor `.` (each
 * row with its file's URI as the hidden `"$path"` column),
 * refuses a table the catalog lacks and an UNLOAD prefix that is not empty, and answers with GetQueryExecution's
 * shape. A failed query fails the state with `States.TaskFailed`, as the integration does.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseS3Uri } from '../stepfunctions/artifact-store';
import { type Engine, quoteName, quoteText, withEngine } from '../stepfunctions/curated/duckdb-engine';
import type { CatalogTable } from '../stepfunctions/curated/table-catalog';
import type { LocalArtifactStore } from './local-artifact-store';
import type { LocalTableCatalog } from './local-table-catalog';

/** What QueryTrainingSet sends (StartQueryExecution's parameters). */
export interface StartQueryExecutionRequest {
  readonly QueryString: string;
  readonly ClientRequestToken?: string;
  readonly WorkGroup?: string;
  readonly QueryExecutionContext?: { readonly Catalog?: string; readonly Database?: string };
}

/** The statement the platform sends: UNLOAD of a query to Parquet. */
const UNLOAD = /^UNLOAD \(([\s\S]+)\) TO '(s3:\/\/[^']+\/)' WITH \(format = 'PARQUET', compression = 'SNAPPY'\)$/;
/** A table named with its database, as the platform's SQL names it. */
const TABLE_REFERENCE = /"([a-z0-9_]+)"\."([a-z0-9_]+)"/g;

const DUCKDB_TYPES: Readonly<Record<CatalogTable['columns'][number]['type'], string>> = {
  string: 'VARCHAR',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  int: 'INTEGER',
};

/** The local Athena. */
export class LocalAthena {
  constructor(
    private readonly store: LocalArtifactStore,
    private readonly catalog: LocalTableCatalog,
  ) {}

  /** Queries started, by idempotency token. */
  private readonly started = new Map<string, { query: string; run: ReturnType<LocalAthena['run']> }>();

  /**
   * Runs a query to its end; resolves with GetQueryExecution's response, or fails as the `.sync` state does. As
   * Athena does, a start repeated with the same `ClientRequestToken` names the query already started (its
   * outcome, not a second run), and the same token with another statement is refused.
   */
  startQueryExecutionSync(request: StartQueryExecutionRequest) {
    const token = request.ClientRequestToken;
    if (token === undefined) return this.run(request);
    const earlier = this.started.get(token);
    if (earlier && earlier.query !== request.QueryString) {
      return Promise.reject(
        Object.assign(
          new Error('Athena.InvalidRequestException: the idempotency token was used with another statement'),
          { name: 'Athena.InvalidRequestException' },
        ),
      );
    }
    if (earlier) return earlier.run;
    const run = this.run(request);
    this.started.set(token, { query: request.QueryString, run });
    return run;
  }

  private async run(request: StartQueryExecutionRequest) {
    const id = randomUUID();
    const submitted = new Date().toISOString();
    const failed = (reason: string) =>
      Object.assign(
        new Error(JSON.stringify({ QueryExecutionId: id, Status: { State: 'FAILED', StateChangeReason: reason } })),
        { name: 'States.TaskFailed' },
      );
    const unload = UNLOAD.exec(request.QueryString);
    if (!unload) throw failed('the local Athena runs UNLOAD … TO … WITH (format = PARQUET) only');
    const [, query, target] = unload;
    const prefix = parseS3Uri(target);
    if ((await this.store.list(target)).length > 0) {
      throw failed(`HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: ${target}`);
    }
    let scanned = 0;
    const tables: { reference: string; table: CatalogTable; files: string[] }[] = [];
    for (const [reference, database, name] of query.matchAll(TABLE_REFERENCE)) {
      const table = await this.catalog.get(database, name);
      if (!table) throw failed(`TABLE_NOT_FOUND: Table '${database}.${name}' does not exist`);
      const files = (await this.store.list(table.location)).filter((uri) => !/\/[_.][^/]*$/.test(uri));
      for (const uri of files) scanned += statSync(this.store.pathOf(uri)).size;
      tables.push({ reference, table, files });
    }
    const output = this.store.pathOf(`s3://${prefix.bucket}/${prefix.key}${id}_00000.parquet`);
    mkdirSync(dirname(output), { recursive: true });
    await withEngine(async (engine) => {
      const sources = new Map<string, string>();
      for (const { reference, table, files } of tables) sources.set(reference, await this.source(engine, table, files));
      const sql = query.replace(TABLE_REFERENCE, (reference) => sources.get(reference) ?? reference);
      await engine.run(`COPY (${sql}) TO ${quoteText(output)} (FORMAT PARQUET)`);
    }).catch((error: Error) => {
      throw error.name === 'States.TaskFailed' ? error : failed(`the query failed: ${error.message.slice(0, 500)}`);
    });
    return {
      QueryExecution: {
        QueryExecutionId: id,
        Query: request.QueryString,
        StatementType: 'DML',
        WorkGroup: request.WorkGroup ?? 'primary',
        QueryExecutionContext: request.QueryExecutionContext ?? {},
        Status: { State: 'SUCCEEDED', SubmissionDateTime: submitted, CompletionDateTime: new Date().toISOString() },
        Statistics: { DataScannedInBytes: scanned },
      },
    };
  }

  /**
   * A catalog table as DuckDB reads it: its files as Parquet, matched to the catalog's columns by name whatever
   * the case (a column the files lack reads as NULL); a file's column of another type than the catalog's fails
   * the query, as Athena's Parquet reader does.
   */
  private async source(engine: Engine, table: CatalogTable, files: readonly string[]): Promise<string> {
    const typed = (c: CatalogTable['columns'][number], value: string) =>
      `CAST(${value} AS ${DUCKDB_TYPES[c.type]}) AS ${quoteName(c.name)}`;
    if (files.length === 0) {
      return `(SELECT ${table.columns.map((c) => typed(c, 'NULL')).join(', ')}, '' AS "$path" WHERE 1 = 0)`;
    }
    const described = await engine.rows(
      `DESCRIBE SELECT * FROM read_parquet([${files.map((uri) => quoteText(this.store.pathOf(uri))).join(', ')}])`,
    );
    const types = new Map(described.map((d) => [String(d.column_name).toLowerCase(), String(d.column_type)]));
    const columns = table.columns.map((c) => {
      const type = types.get(c.name);
      if (type === undefined) return typed(c, 'NULL');
      if (type !== DUCKDB_TYPES[c.type]) {
        throw Object.assign(
          new Error(
            `HIVE_BAD_DATA: Field ${c.name}'s type ${type} in parquet is incompatible with type ${c.type} defined in table schema`,
          ),
          { name: 'HiveBadData' },
        );
      }
      return quoteName(c.name);
    });
    // Each file with Athena's hidden "$path" column: its s3:// URI.
    const perFile = files.map(
      (uri) =>
        `SELECT ${columns.join(', ')}, ${quoteText(uri)} AS "$path" FROM read_parquet(${quoteText(this.store.pathOf(uri))})`,
    );
    return `(${perFile.join(' UNION ALL ')})`;
  }
}
