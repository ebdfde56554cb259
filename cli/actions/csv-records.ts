/**
 * Records of a CSV file whose header names a spec's features (`mlp predict --spec`, `mlp drift`): one record
 * per line, numeric columns as numbers (empty or NaN: missing), categorical ones as text. Errors name the file,
 * line and column, never a value.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import type { FeatureSpec } from '../../lambdas/features/feature-spec';
import { UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';

/** Opens an input file, so that a missing or unreadable one is named before anything is written. */
export async function openInput(path: string): Promise<ReadStream> {
  const stream = createReadStream(path);
  await once(stream, 'open');
  return stream;
}

/** One record and the line it came from. */
export interface CsvRecord {
  readonly record: Record<string, number | string | null>;
  readonly at: number;
}

/** Reads the records of `stream` (named `input` in errors) under `spec`. */
export async function* namedRecords(spec: FeatureSpec, stream: ReadStream, input: string): AsyncGenerator<CsvRecord> {
  const parser = stream.pipe(parse({ bom: true, skip_empty_lines: true, trim: true, info: true }));
  stream.once('error', (error) => parser.destroy(error)); // a read error ends the loop below, not the process
  let header: string[] | undefined;
  let columns: { index: number; name: string; numeric: boolean }[] = [];
  let line = 1;
  try {
    for await (const { record: fields, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      line = info.lines;
      if (!header) {
        header = fields;
        const position = new Map(header.map((name, i) => [name, i]));
        const missing = spec.features.filter((f) => !position.has(f.name)).map((f) => f.name);
        if (missing.length > 0) {
          throw new UsageError(
            `${input}: the header lacks ${missing.length} feature(s) of the spec: ${missing.slice(0, 10).join(', ')}` +
              `${missing.length > 10 ? ', …' : ''} (an empty column scores them as missing)`,
          );
        }
        columns = spec.features.map((f) => ({
          index: position.get(f.name)!,
          name: f.name,
          numeric: f.type === 'numeric',
        }));
        const ignored = header.filter((name) => !spec.features.some((f) => f.name === name));
        if (ignored.length > 0) {
          new CommandOutput({}).note(
            `${input}: ignoring columns the feature spec does not name: ${ignored.join(', ')}`,
          );
        }
        continue;
      }
      const at = line;
      const record: Record<string, number | string | null> = {};
      for (const column of columns) {
        const text = fields[column.index];
        if (text === '' || text === undefined) {
          record[column.name] = null;
        } else if (column.numeric) {
          if (text === 'NaN' || text === 'nan') {
            record[column.name] = null;
            continue;
          }
          const value = Number(text);
          if (!Number.isFinite(value)) throw new UsageError(`${input} line ${at} column ${column.name}: not a number`);
          record[column.name] = value;
        } else {
          record[column.name] = text;
        }
      }
      yield { record, at };
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('CSV_')) {
      // csv-parse's own messages can quote the row; only where and what kind of problem is reported.
      const where = (error as { lines?: number }).lines ?? line;
      throw new UsageError(`${input} line ${where}: not valid CSV (${code})`);
    }
    throw error;
  }
  if (!header) throw new UsageError(`${input} is empty: it needs a header naming the features`);
}
