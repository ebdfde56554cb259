/**
 * Counts the rows of each k-anonymity group: the combination of a row's generalised quasi-identifiers, as
 * written out. Groups get small integer ids in order of first appearance, so a row's group can be stored
 * next to it and groups smaller than k suppressed once all rows are counted.
 */
import type { ColumnTransform, SourceValue } from '../anonymise/column-transform';

/** A quasi-identifier: its transform, its source column, and its output field (-1 when not written out). */
export interface QuasiIdentifier {
  readonly transform: ColumnTransform;
  readonly column: number;
  readonly output: number;
}

/** Separators of a group key; NUL stands for a null value (neither occurs in generalised output). */
const NULL_VALUE = '\u0000';
const SEPARATOR = '\u0001';

/** Group counts of one run. */
export class KAnonymityGroups {
  private readonly ids = new Map<string, number>();
  private readonly counts: number[] = [];

  constructor(private readonly quasiIdentifiers: readonly QuasiIdentifier[]) {}

  /**
   * Counts a row and returns its group id. `fields` are the row's output fields: a quasi-identifier that is
   * written out is taken from them (its transform already ran), others are transformed from the row.
   */
  add(row: readonly unknown[], fields: readonly (string | null)[]): number {
    if (this.quasiIdentifiers.length === 0) return 0; // no quasi-identifiers: no groups, nothing to suppress
    let key = '';
    for (let i = 0; i < this.quasiIdentifiers.length; i++) {
      const q = this.quasiIdentifiers[i];
      const value = q.output >= 0 ? fields[q.output] : q.transform(row[q.column] as SourceValue);
      key += i === 0 ? (value ?? NULL_VALUE) : SEPARATOR + (value ?? NULL_VALUE);
    }
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.counts.length;
      this.ids.set(key, id);
      this.counts.push(0);
    }
    this.counts[id]++;
    return id;
  }

  /** The ids of groups with fewer than `k` rows, and how many rows they hold. */
  smallerThan(k: number): { suppressed: ReadonlySet<number>; rows: number } {
    const suppressed = new Set<number>();
    let rows = 0;
    this.counts.forEach((count, id) => {
      if (count < k) {
        suppressed.add(id);
        rows += count;
      }
    });
    return { suppressed, rows };
  }
}
