/**
 * Entry point for model files: detects the format from the bytes (gzip'd tar, legacy binary, JSON, UBJSON)
 * and returns a validated {@link TreeEnsemble}. Optionally verifies a SHA-256 first, the only defence against
 * corruption that keeps a model well-formed (a flipped bit inside a leaf value).
 */
import { createHash } from 'node:crypto';
import { extractModelFromTarGz } from './archive';
import { readJsonModel, readUbjsonModel } from './document-model';
import { readLegacyBinary } from './legacy-binary';
import { ModelFormatError } from './model-error';
import type { TreeEnsemble } from './tree-ensemble';

/** Model file formats the reader recognises. */
export type ModelFileFormat = 'tar.gz' | 'binary' | 'json' | 'ubjson';

/** Options of {@link readModel}. */
export interface ReadModelOptions {
  /** Hex SHA-256 the file must have (as recorded by the registry). @default not checked */
  readonly sha256?: string;
}

/** Identifies a model file's format from its first bytes, or throws naming what it found. */
export function detectModelFormat(bytes: Uint8Array): ModelFileFormat {
  if (bytes.length < 2) throw new ModelFormatError(`model file too short (${bytes.length} bytes)`);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'tar.gz';
  const head = String.fromCharCode(...bytes.subarray(0, 4));
  if (head === 'binf') return 'binary';
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b /* { */) {
    // UBJSON objects start with `{` followed by a length marker or container header; JSON by a quote/space.
    const next = bytes[i + 1];
    return next === 0x22 || next === 0x7d || next === 0x20 || next === 0x0a || next === 0x0d || next === 0x09
      ? 'json'
      : 'ubjson';
  }
  const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ModelFormatError(
    `unknown model format (first bytes ${hex}); expected model.tar.gz, XGBoost binary (binf), JSON or UBJSON`,
  );
}

/** Reads a model file of any supported format. */
export function readModel(bytes: Uint8Array, options: ReadModelOptions = {}): TreeEnsemble {
  if (options.sha256 !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== options.sha256.toLowerCase()) {
      throw new ModelFormatError(`model checksum mismatch: expected sha256 ${options.sha256}, file has ${actual}`);
    }
  }
  return readFormat(bytes, false);
}

/** `fromArchive`: the bytes were decompressed out of model.tar.gz into a buffer nobody else holds. */
function readFormat(bytes: Uint8Array, fromArchive: boolean): TreeEnsemble {
  switch (detectModelFormat(bytes)) {
    case 'tar.gz':
      if (fromArchive) throw new ModelFormatError('model.tar.gz contains another gzip archive');
      return readFormat(extractModelFromTarGz(bytes), true);
    case 'binary':
      return readLegacyBinary(bytes, { mayRearrange: fromArchive });
    case 'json':
      return readJsonModel(new TextDecoder().decode(bytes));
    case 'ubjson':
      return readUbjsonModel(bytes);
  }
}
