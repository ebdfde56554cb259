/**
 * The single pass over the source of an extract run: every row is checked by the row data tests, anonymised
 * column by column under its policy, counted in its k-anonymity group (the generalised quasi-identifiers) and
 * spooled locally, until the run knows which groups are too small. Nothing leaves the machine here.
 */
import { compileTransform, type ColumnTransform, type SourceValue } from '../anonymise/column-transform';
import { DirectIdentifierScan } from '../anonymise/direct-identifiers';
import type { DatasetConfig } from '../config/agent-config';
import type { Source, SourceColumn } from '../source/source';
import { csvLine } from './csv';
import { RowTests } from './data-tests';
import { dataTestsFailed, ExtractAbort } from './extract-abort';
import type { ExtractPlan } from './extract-plan';
import type { WatermarkPosition } from './journal';
import { KAnonymityGroups } from './k-anonymity';
import { SpoolWriter } from './spool';

/** Source rows per spooled chunk (one gzip member; a part holds whole chunks). */
const SPOOL_CHUNK_ROWS = 1000;

/** What the pass leaves behind besides the spool file. */
export interface PassResult {
  /** Watermark position of the last row read; null when the window held no row. */
  readonly last: WatermarkPosition | null;
  /** Rows read, anonymised and spooled. */
  readonly rows: number;
  /** The k-anonymity group sizes, to decide which groups to suppress. */
  readonly groups: KAnonymityGroups;
}

/** Inputs of {@link anonymisingPass}. */
export interface PassOptions {
  readonly source: Source;
  /** Master pseudonymisation key. */
  readonly key: Buffer;
  /** Where the anonymised lines are spooled (closed when the pass returns or throws). */
  readonly spoolPath: string;
  /** Rows read so far, after each batch. */
  readonly progress?: (rows: number) => void;
}

/** Runs the pass over the planned window; throws the failed row data tests after the whole pass. */
export async function anonymisingPass(
  dataset: DatasetConfig,
  planned: ExtractPlan & { readonly columns: readonly SourceColumn[] },
  options: PassOptions,
): Promise<PassResult> {
  const transforms = compileTransforms(dataset, planned, options.key);
  const names = planned.columns.map((c) => c.name);
  const outIndex = planned.outputColumns.map((name) => names.indexOf(name));
  const outTransforms = planned.outputColumns.map((name) => transforms.get(name)!);
  const wmAt = names.indexOf(dataset.watermark.column);
  const pkAt = names.indexOf(dataset.primaryKey);
  const groups = new KAnonymityGroups(
    dataset.quasiIdentifiers.map((name) => ({
      transform: transforms.get(name)!,
      column: names.indexOf(name),
      output: planned.outputColumns.indexOf(name),
    })),
  );
  const rowTests = new RowTests(dataset.tests, names);
  const identifiers = new DirectIdentifierScan(
    planned.outputColumns
      .filter((name) => {
        const policy = dataset.columns[name];
        return policy.policy === 'keep' && policy.identifier !== false;
      })
      .map((name) => ({ name, at: names.indexOf(name) })),
  );
  const spool = new SpoolWriter(options.spoolPath, Math.min(SPOOL_CHUNK_ROWS, dataset.partRows));
  let last: WatermarkPosition | null = null;
  const fields: (string | null)[] = new Array(outIndex.length);
  try {
    for await (const batch of options.source.batches(planned.sql, planned.binds)) {
      for (const row of batch) {
        rowTests.check(row);
        identifiers.add(row);
        for (let i = 0; i < outIndex.length; i++) fields[i] = outTransforms[i](row[outIndex[i]] as SourceValue);
        spool.append(groups.add(row, fields), csvLine(fields));
      }
      const row = batch[batch.length - 1];
      last = { value: row[wmAt] as string | number, key: row[pkAt] as string | number };
      await spool.settle();
      options.progress?.(spool.records);
    }
  } finally {
    await spool.close();
  }
  const rowFailures = rowTests.failures();
  if (rowFailures.length > 0) throw dataTestsFailed(dataset, rowFailures);
  const found = identifiers.findings();
  if (found.length > 0) {
    throw new ExtractAbort(
      `${dataset.name}: kept columns hold direct identifiers (${found.join('; ')}); use hmac or drop, or once ` +
        'reviewed keep them with identifier: false',
    );
  }
  return { last, rows: spool.records, groups };
}

/**
 * Each column's transform. Generalisations relative to a date (ages) are taken as of the window's upper bound
 * when it is a date, else as of the run's start, so a resumed run reproduces its parts.
 */
function compileTransforms(
  dataset: DatasetConfig,
  planned: ExtractPlan & { readonly columns: readonly SourceColumn[] },
  key: Buffer,
): Map<string, ColumnTransform> {
  const { plan } = planned;
  const bound = String(plan.upperBound).slice(0, 10);
  const asOf = /^\d{4}-\d{2}-\d{2}$/.test(bound) ? bound : plan.startedAt.slice(0, 10);
  const transforms = new Map<string, ColumnTransform>();
  for (const c of planned.columns) {
    transforms.set(
      c.name,
      compileTransform(dataset.columns[c.name], { dataset: dataset.name, column: c.name, key, asOf }),
    );
  }
  return transforms;
}
