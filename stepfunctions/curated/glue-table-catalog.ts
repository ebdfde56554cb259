/**
 * The curated tables' catalog in AWS: Glue's Data Catalog, reached through the VPC's Glue endpoint. The client is
 * created on first use, so the functions that never register a table never load it.
 */
import type * as GlueSdk from '@aws-sdk/client-glue';
import { type CatalogTable, glueTableInput, sameTable, type TableCatalog } from './table-catalog';

/** Glue's Data Catalog as a {@link TableCatalog}. */
export class GlueTableCatalog implements TableCatalog {
  private sdk?: Promise<{ glue: typeof GlueSdk; client: GlueSdk.GlueClient }>;

  private load() {
    this.sdk ??= import('@aws-sdk/client-glue').then((glue) => ({ glue, client: new glue.GlueClient({}) }));
    return this.sdk;
  }

  async get(database: string, name: string): Promise<CatalogTable | undefined> {
    const { glue, client } = await this.load();
    try {
      const { Table } = await client.send(new glue.GetTableCommand({ DatabaseName: database, Name: name }));
      const columns = (Table?.StorageDescriptor?.Columns ?? []).map((c) => ({
        name: c.Name ?? '',
        type: (c.Type ?? 'string') as CatalogTable['columns'][number]['type'],
      }));
      return { database, name, location: Table?.StorageDescriptor?.Location ?? '', columns };
    } catch (error) {
      if (error instanceof glue.EntityNotFoundException) return undefined;
      throw error;
    }
  }

  async register(table: CatalogTable): Promise<void> {
    const { glue, client } = await this.load();
    const existing = await this.get(table.database, table.name);
    if (existing && sameTable(existing, table)) return;
    const request = { DatabaseName: table.database, TableInput: glueTableInput(table) };
    if (!existing) {
      try {
        await client.send(new glue.CreateTableCommand(request));
        return;
      } catch (error) {
        // Created meanwhile (a retried Prepare): bring it up to date instead.
        if (!(error instanceof glue.AlreadyExistsException)) throw error;
      }
    }
    await client.send(new glue.UpdateTableCommand(request));
  }
}
