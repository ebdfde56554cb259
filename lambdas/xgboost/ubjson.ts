/**
 * Decoder for UBJSON (Universal Binary JSON, draft 12) as XGBoost writes it: big-endian numbers, optimized
 * containers (`$` type, `#` count). Numeric typed arrays decode to JS typed arrays. The only published JS
 * decoder fails on XGBoost's count-only containers, hence this one. Bounded: counts are checked against the
 * bytes left and nesting is capped, so hostile input fails fast instead of allocating or recursing without end.
 */
import { ModelFormatError } from './model-error';

/** A decoded UBJSON value. */
export type UbjValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | UbjValue[]
  | { [key: string]: UbjValue }
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

const MAX_DEPTH = 64;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes one UBJSON document that must span `bytes` exactly. */
export function decodeUbjson(bytes: Uint8Array): UbjValue {
  const reader = new Reader(bytes);
  const value = reader.value(reader.byte(), 0);
  if (reader.pos !== bytes.length) throw new ModelFormatError(`UBJSON: ${bytes.length - reader.pos} trailing bytes`);
  return value;
}

const ELEMENT_SIZE: Record<string, number> = { i: 1, U: 1, I: 2, l: 4, L: 8, d: 4, D: 8, C: 1, T: 0, F: 0, Z: 0, N: 0 };

type TypedArrayOf = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
/** Numeric container types that decode to typed arrays: element size, array type, big-endian reader. */
const TYPED_ARRAYS: Record<
  string,
  readonly [number, new (n: number) => TypedArrayOf, (view: DataView, at: number) => number]
> = {
  d: [4, Float32Array, (v, at) => v.getFloat32(at)],
  D: [8, Float64Array, (v, at) => v.getFloat64(at)],
  l: [4, Int32Array, (v, at) => v.getInt32(at)],
  I: [2, Int16Array, (v, at) => v.getInt16(at)],
  i: [1, Int8Array, (v, at) => v.getInt8(at)],
  U: [1, Uint8Array, (v, at) => v.getUint8(at)],
};

class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  byte(): string {
    this.need(1);
    return String.fromCharCode(this.bytes[this.pos++]);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new ModelFormatError(`UBJSON: truncated at byte ${this.pos} (needs ${n} more)`);
    }
  }

  private int(marker: string): number {
    let value: number;
    switch (marker) {
      case 'i':
        this.need(1);
        value = this.view.getInt8(this.pos);
        this.pos += 1;
        return value;
      case 'U':
        this.need(1);
        return this.bytes[this.pos++];
      case 'I':
        this.need(2);
        value = this.view.getInt16(this.pos);
        this.pos += 2;
        return value;
      case 'l':
        this.need(4);
        value = this.view.getInt32(this.pos);
        this.pos += 4;
        return value;
      case 'L': {
        this.need(8);
        const big = this.view.getBigInt64(this.pos);
        this.pos += 8;
        if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new ModelFormatError(`UBJSON: integer out of range at byte ${this.pos - 8}`);
        }
        return Number(big);
      }
      default:
        throw new ModelFormatError(
          `UBJSON: expected an integer marker, got "${printable(marker)}" at byte ${this.pos - 1}`,
        );
    }
  }

  private length(marker: string): number {
    const n = this.int(marker);
    if (n < 0) throw new ModelFormatError(`UBJSON: negative length at byte ${this.pos}`);
    return n;
  }

  private string(): string {
    const n = this.length(this.byte());
    this.need(n);
    try {
      return decoder.decode(this.bytes.subarray(this.pos, (this.pos += n)));
    } catch (error) {
      throw new ModelFormatError(`UBJSON: invalid UTF-8 in string at byte ${this.pos - n}`, { cause: error });
    }
  }

  value(marker: string, depth: number): UbjValue {
    switch (marker) {
      case 'Z':
        return null;
      case 'T':
        return true;
      case 'F':
        return false;
      case 'i':
      case 'U':
      case 'I':
      case 'l':
      case 'L':
        return this.int(marker);
      case 'd': {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 'D': {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 'C':
        this.need(1);
        return String.fromCharCode(this.bytes[this.pos++]);
      case 'S':
      case 'H':
        return this.string();
      case '[':
        return this.array(depth + 1);
      case '{':
        return this.object(depth + 1);
      default:
        throw new ModelFormatError(`UBJSON: unknown marker "${printable(marker)}" at byte ${this.pos - 1}`);
    }
  }

  /** Reads the optional `$type` and `#count` of a container. */
  private header(): { type?: string; count?: number } {
    let type: string | undefined;
    let count: number | undefined;
    if (this.peek() === '$') {
      this.pos++;
      type = this.byte();
      if (!(type in ELEMENT_SIZE) && type !== 'S' && type !== 'H' && type !== '[' && type !== '{') {
        throw new ModelFormatError(`UBJSON: unknown container type "${printable(type)}"`);
      }
      if (this.byte() !== '#') throw new ModelFormatError('UBJSON: typed container without a count');
    }
    if (type !== undefined || this.peek() === '#') {
      if (type === undefined) this.pos++;
      count = this.length(this.byte());
      const minimum = type !== undefined ? (ELEMENT_SIZE[type] ?? 1) : 1;
      if (count * minimum > this.bytes.length - this.pos) {
        throw new ModelFormatError(
          `UBJSON: container of ${count} items exceeds the ${this.bytes.length - this.pos} bytes left`,
        );
      }
    }
    return { type, count };
  }

  private peek(): string {
    this.need(1);
    return String.fromCharCode(this.bytes[this.pos]);
  }

  private array(depth: number): UbjValue {
    if (depth > MAX_DEPTH) throw new ModelFormatError('UBJSON: nesting too deep');
    const { type, count } = this.header();
    if (type !== undefined && count !== undefined) {
      const typed = this.typedArray(type, count);
      if (typed) return typed;
    }
    const out: UbjValue[] = [];
    if (count !== undefined) {
      for (let i = 0; i < count; i++) out.push(this.value(type ?? this.byte(), depth));
      return out;
    }
    for (let marker = this.byte(); marker !== ']'; marker = this.byte()) {
      if (marker === 'N') continue;
      out.push(this.value(marker, depth));
    }
    return out;
  }

  private typedArray(type: string, count: number): UbjValue | undefined {
    const layout = TYPED_ARRAYS[type];
    if (!layout) return undefined;
    const [size, Make, get] = layout;
    this.need(size * count);
    const out = new Make(count);
    for (let i = 0, o = this.pos; i < count; i++, o += size) out[i] = get(this.view, o);
    this.pos += size * count;
    return out;
  }

  private object(depth: number): UbjValue {
    if (depth > MAX_DEPTH) throw new ModelFormatError('UBJSON: nesting too deep');
    const { type, count } = this.header();
    const out: Record<string, UbjValue> = Object.create(null);
    const entry = () => {
      const key = this.string();
      out[key] = this.value(type ?? this.byte(), depth);
    };
    if (count !== undefined) {
      for (let i = 0; i < count; i++) entry();
      return out;
    }
    while (this.peek() !== '}') {
      if (this.peek() === 'N') {
        this.pos++;
        continue;
      }
      entry();
    }
    this.pos++;
    return out;
  }
}

function printable(marker: string): string {
  const code = marker.charCodeAt(0);
  return code >= 32 && code < 127 ? marker : `0x${code.toString(16).padStart(2, '0')}`;
}
