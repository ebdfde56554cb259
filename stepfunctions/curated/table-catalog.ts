/**
 * The Glue table over a curated table, for Athena: one table per key id, over `<dataset>/table/<kid>/` (Athena
 * skips `_log.json`, as it skips every object whose name starts with `_` or `.`), its columns the table log's
 * schema with the Parquet types the merge writes, plus the manifest columns. Prepare registers it when it
 * merges, so the catalog always describes the files; the SQL a training set runs names it in place of the
 * logical `"curated"`.
 */
import { curatedGlueTableName } from '../../contracts/resource-names';
import { curated, s3Uri } from '../../contracts/s3-layout';
import type { RetrainingSettings } from '../retraining-settings';
import type { TableLog } from './curated-table';
import { quoteName } from './duckdb-engine';
import { MANIFEST_COLUMN, SEQ_COLUMN } from './training-set-sql';

/** A column as Glue and Athena type it (Hive type names). */
export interface CatalogColumn {
  readonly name: string;
  readonly type: 'string' | 'bigint' | 'double' | 'int';
}

/** A Glue table over a curated table's Parquet files. */
export interface CatalogTable {
  readonly database: string;
  readonly name: string;
  /** `s3://<curated bucket>/<dataset>/table/<kid>/`. */
  readonly location: string;
  readonly columns: readonly CatalogColumn[];
}

/** Where the curated tables are registered: Glue in AWS, a directory of JSON files locally. */
export interface TableCatalog {
  /** Creates the table, or updates it where it differs; leaves an equal table alone. */
  register(table: CatalogTable): Promise<void>;
  /** The table, if registered. */
  get(database: string, name: string): Promise<CatalogTable | undefined>;
}

/** The Hive type of each manifest type, as the merge writes it to Parquet (VARCHAR, BIGINT, DOUBLE). */
const HIVE_TYPES: Readonly<Record<string, CatalogColumn['type']>> = {
  string: 'string',
  integer: 'bigint',
  number: 'double',
};

/** The Glue table over the curated table `log` describes. */
export function catalogTableOf(
  settings: Pick<RetrainingSettings, 'dataset' | 'buckets' | 'glueDatabase'>,
  log: Pick<TableLog, 'kid' | 'schema'>,
): CatalogTable {
  // Glue keeps names lowercase, and Athena matches Parquet columns to them without regard to case.
  const columns: CatalogColumn[] = Object.entries(log.schema).map(([name, type]) => ({
    name: name.toLowerCase(),
    type: HIVE_TYPES[type] ?? 'string',
  }));
  const seen = new Set(columns.map((c) => c.name));
  if (seen.size !== columns.length) {
    throw new Error(
      `the curated ${settings.dataset} table has columns that differ only in case: Glue cannot hold them`,
    );
  }
  columns.push({ name: SEQ_COLUMN, type: 'int' }, { name: MANIFEST_COLUMN, type: 'string' });
  return {
    database: settings.glueDatabase,
    name: curatedGlueTableName(settings.dataset, log.kid),
    location: s3Uri(settings.buckets.curated, curated.tablePrefix(settings.dataset, log.kid)),
    columns,
  };
}

/** The table as Athena's SQL names it. */
export function catalogSource(table: Pick<CatalogTable, 'database' | 'name'>): string {
  return `${quoteName(table.database)}.${quoteName(table.name)}`;
}

/** Glue's TableInput of a table (CreateTable, UpdateTable): external, Parquet, no partitions. */
export function glueTableInput(table: CatalogTable) {
  return {
    Name: table.name,
    Description: 'mlp curated table: one row version per (key, watermark), tagged with its manifest',
    TableType: 'EXTERNAL_TABLE',
    Parameters: { classification: 'parquet', EXTERNAL: 'TRUE' },
    StorageDescriptor: {
      Columns: table.columns.map((c) => ({ Name: c.name, Type: c.type })),
      Location: table.location,
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    },
  };
}

/** Whether two descriptions of a table agree in what Athena reads: location and columns. */
export function sameTable(a: CatalogTable, b: CatalogTable): boolean {
  return a.location === b.location && JSON.stringify(a.columns) === JSON.stringify(b.columns);
}
