/**
 * Turns JSON records into float32 feature rows under a {@link FeatureSpec}. Problems are reported by record
 * index and the spec's feature name (or the position of an unknown field): submitted keys and values never
 * appear in an error.
 */
import type { FeatureSpec } from './feature-spec';

/** A record the spec cannot turn into a row. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/** Largest float32: a numeric value beyond it is refused (the model compares in float32). */
export const FLOAT32_MAX = 3.4028234663852886e38;

interface Column {
  readonly kind: 'numeric' | 'one-hot' | 'ordinal';
  /** The feature's position in the spec (its slot in a raw row). */
  readonly slot: number;
  readonly offset: number;
  readonly categories?: ReadonlyMap<string, number>;
  readonly width: number;
}

/** Builds rows of `width` float32 values from records. Reusable; holds no per-request state. */
export class Vectorizer {
  /** Columns per row. */
  readonly width: number;
  private readonly fields: ReadonlyMap<string, Column>;

  constructor(readonly spec: FeatureSpec) {
    const fields = new Map<string, Column>();
    let offset = 0;
    for (const [slot, feature] of spec.features.entries()) {
      if (feature.type === 'numeric') {
        fields.set(feature.name, { kind: 'numeric', slot, offset, width: 1 });
        offset += 1;
      } else {
        const categories = new Map(feature.categories.map((c, i) => [c, i]));
        const width = feature.encoding === 'one-hot' ? categories.size : 1;
        fields.set(feature.name, { kind: feature.encoding, slot, offset, width, categories });
        offset += width;
      }
    }
    this.fields = fields;
    this.width = offset;
  }

  /**
   * Writes record `index`'s row at `out[offset…offset+width)`. Throws {@link RecordError} for a record that
   * is not an object, has a field the spec does not know, or a value of the wrong type or range.
   *
   * With `raw`, also writes the record's values one per spec feature at `raw[rawOffset…+features)`, as drift
   * monitoring bins them: a numeric value as given (double, not rounded to float32), a category's index in the
   * spec (-1 for a category the spec does not list), NaN for a missing value.
   */
  fill(record: unknown, index: number, out: Float32Array, offset: number, raw?: Float64Array, rawOffset = 0): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new RecordError(`records[${index}] is not an object`);
    }
    out.fill(Number.NaN, offset, offset + this.width);
    if (raw) raw.fill(Number.NaN, rawOffset, rawOffset + this.spec.features.length);
    const keys = Object.keys(record);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      const column = this.fields.get(key);
      // Unknown keys are submitted content: report their position, never their text.
      if (!column) throw new RecordError(`records[${index}] field #${k + 1} is not a feature of this model`);
      const field = `records[${index}].${key}`;
      const value = (record as Record<string, unknown>)[key];
      if (value === null || value === undefined) continue;
      const at = offset + column.offset;
      if (column.kind === 'numeric') {
        if (typeof value !== 'number') throw new RecordError(`${field} must be a number or null`);
        if (!(Math.abs(value) <= FLOAT32_MAX)) throw new RecordError(`${field} is outside the float32 range`);
        out[at] = value;
        if (raw) raw[rawOffset + column.slot] = value;
        continue;
      }
      if (typeof value !== 'string') throw new RecordError(`${field} must be a string (a category) or null`);
      const category = column.categories!.get(value);
      if (raw) raw[rawOffset + column.slot] = category ?? -1;
      if (column.kind === 'ordinal') {
        if (category !== undefined) out[at] = category;
      } else if (category !== undefined) {
        out.fill(0, at, at + column.width);
        out[at + category] = 1;
      }
    }
  }
}
