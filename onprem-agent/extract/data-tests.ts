/**
 * A dataset's data tests. Row tests (not-null, accepted-values, range) are checked on the source values as
 * the extract's single pass reads them; `unique` needs every value at once and runs in the database. Failures
 * name the test, the column and a count, never a value.
 */
import type { DatasetConfig } from '../config/agent-config';
import { quoteIdentifier, type Source } from '../source/source';

type DataTest = DatasetConfig['tests'][number];
/** The tests checked row by row (`unique` runs in the database). */
type RowDataTest = Exclude<DataTest, { test: 'unique' }>;

/** A row test compiled against the query's column order. */
interface RowTest {
  readonly test: RowDataTest;
  readonly column: number;
  /** True when the value violates the test. */
  readonly violates: (value: unknown) => boolean;
  violations: number;
}

/** Checks a dataset's row tests over streamed rows. */
export class RowTests {
  private readonly tests: RowTest[];

  /** `columns` are the query's column names, in row order. */
  constructor(tests: readonly DataTest[], columns: readonly string[]) {
    this.tests = tests
      .filter((t): t is RowDataTest => t.test !== 'unique')
      .map((test) => ({ test, column: columns.indexOf(test.column), violates: violation(test), violations: 0 }));
  }

  /** Checks one row. */
  check(row: readonly unknown[]): void {
    for (const t of this.tests) if (t.violates(row[t.column])) t.violations++;
  }

  /** One line per failing test: `range on rate: 3 violating row(s)`. */
  failures(): string[] {
    return this.tests
      .filter((t) => t.violations > 0)
      .map((t) => `${t.test.test} on ${t.test.column}: ${t.violations} violating row(s)`);
  }
}

function violation(test: RowDataTest): (value: unknown) => boolean {
  switch (test.test) {
    case 'not-null':
      return (v) => v === null || v === undefined;
    case 'accepted-values': {
      // Compared as text, so 1 from a NUMBER column matches 1 or "1" in the config.
      const accepted = new Set(test.values.map(String));
      return (v) => v !== null && v !== undefined && !accepted.has(asText(v));
    }
    case 'range': {
      const min = test.min ?? Number.NEGATIVE_INFINITY;
      const max = test.max ?? Number.POSITIVE_INFINITY;
      // A value that is not a number at all is outside any range.
      return (v) => {
        if (v === null || v === undefined) return false;
        const x = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number.NaN;
        return !(x >= min && x <= max);
      };
    }
  }
}

function asText(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

/**
 * Runs the dataset's `unique` tests in the database over the run's window (`where` with `binds`); returns one
 * line per failing test.
 */
export async function uniqueTestFailures(
  source: Source,
  dataset: DatasetConfig,
  where: string,
  binds: readonly unknown[],
): Promise<string[]> {
  const failures: string[] = [];
  for (const test of dataset.tests) {
    if (test.test !== 'unique') continue;
    const column = quoteIdentifier(test.column);
    const sql = `SELECT COUNT(*) FROM (SELECT ${column} FROM ${quoteIdentifier(dataset.table)} WHERE ${where} AND ${column} IS NOT NULL GROUP BY ${column} HAVING COUNT(*) > 1)`;
    const count = Number((await source.one(sql, binds))![0]);
    if (count > 0) failures.push(`unique on ${test.column}: ${count} violating value(s)`);
  }
  return failures;
}
