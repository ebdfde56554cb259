/**
 * The Glue Data Catalog's local stand-in: each table a JSON file under `<home>/catalog/<database>/<name>.json`,
 * read by the local Athena (local-athena.ts) to find a table's files.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CatalogTable, sameTable, type TableCatalog } from '../stepfunctions/curated/table-catalog';

/** Glue names: what the platform writes, never a path. */
const NAME = /^[a-z0-9_]{1,255}$/;

/** A catalog of JSON files. */
export class LocalTableCatalog implements TableCatalog {
  constructor(private readonly root: string) {}

  private path(database: string, name: string): string {
    if (!NAME.test(database) || !NAME.test(name)) throw new Error('not a Glue database or table name');
    return join(this.root, database, `${name}.json`);
  }

  async get(database: string, name: string): Promise<CatalogTable | undefined> {
    const path = this.path(database, name);
    if (!existsSync(path)) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as CatalogTable;
  }

  async register(table: CatalogTable): Promise<void> {
    const existing = await this.get(table.database, table.name);
    if (existing && sameTable(existing, table)) return;
    const path = this.path(table.database, table.name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(`${path}.tmp`, `${JSON.stringify(table, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  }
}
