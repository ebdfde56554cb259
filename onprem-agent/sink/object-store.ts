/**
 * Where extracts go. Both sinks give the same guarantees: create-only puts (an existing key is never
 * overwritten; putting identical bytes again is a no-op), a SHA-256 per object, and an object either fully
 * present or absent — never partially readable.
 */

/** Metadata of a stored object. */
export interface StoredObject {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** A create-only object store. */
export interface ObjectStore {
  /** Stores `body` at `key` unless an object is there: identical bytes succeed, different bytes throw. */
  putIfAbsent(key: string, body: Uint8Array, sha256: string): Promise<StoredObject>;
  /** Metadata of `key`, or undefined. */
  head(key: string): Promise<StoredObject | undefined>;
  /** Bytes of `key`. */
  get(key: string): Promise<Uint8Array>;
  /** Keys under a prefix. */
  list(prefix: string): Promise<string[]>;
}

/** Raised when a create-only put meets different bytes under the same key. */
export class ObjectConflictError extends Error {
  constructor(key: string) {
    super(`${key} already exists with different content`);
    this.name = 'ObjectConflictError';
  }
}
