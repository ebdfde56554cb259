/** Extracts `xgboost-model` from the `model.tar.gz` that SageMaker training jobs write. */
import { gunzipSync } from 'node:zlib';
import { type ParsedTarFileItem, parseTar } from 'nanotar';
import { ModelFormatError } from './model-error';

/** Upper bound on the decompressed archive, against decompression bombs. */
export const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

/** Returns the bytes of the archive's model file: `xgboost-model`, or its only regular file. */
export function extractModelFromTarGz(gz: Uint8Array): Uint8Array {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_ARCHIVE_BYTES, chunkSize: outputChunkSize(gz) });
  } catch (error) {
    throw new ModelFormatError(`model.tar.gz is not a valid gzip stream: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return extractModelFromTar(tar);
}

/**
 * gzip's trailer records the decompressed size (mod 2^32): decompressing into one buffer of that size
 * saves joining and copying chunks during the cold start. Only a hint, and believed only when plausible
 * (models compress far less than 64:1), so a damaged trailer costs neither correctness nor memory.
 */
function outputChunkSize(gz: Uint8Array): number {
  const fallback = 64 * 1024;
  if (gz.length < 18) return fallback;
  const n = gz.length;
  const size = (gz[n - 4] | (gz[n - 3] << 8) | (gz[n - 2] << 16) | (gz[n - 1] << 24)) >>> 0;
  return size > fallback && size <= 64 * n && size <= MAX_HINTED_BYTES ? size : fallback;
}

/** Largest single output buffer the gzip size hint may ask for. */
const MAX_HINTED_BYTES = 64 * 1024 * 1024;

/** Returns the bytes of a tar archive's model file: `xgboost-model`, or its only regular file. */
export function extractModelFromTar(tar: Uint8Array): Uint8Array {
  // nanotar reads `data.buffer` from its start: hand it an array that owns its whole buffer.
  const whole = tar.byteOffset === 0 && tar.buffer.byteLength === tar.length ? tar : Uint8Array.from(tar);
  let entries: ParsedTarFileItem[];
  try {
    entries = parseTar<never, { metaOnly: false }, ParsedTarFileItem>(whole);
  } catch (error) {
    throw new ModelFormatError(`model.tar.gz holds no valid tar archive: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const files = entries.filter((e) => (e.type ?? 'file') === 'file' && e.data);
  const named = files.find((e) => e.name.replace(/^\.\//, '') === 'xgboost-model');
  const chosen = named ?? (files.length === 1 ? files[0] : undefined);
  if (!chosen?.data) {
    const names = files.map((f) => f.name).slice(0, 10);
    throw new ModelFormatError(`model.tar.gz has no xgboost-model file (found: ${names.join(', ') || 'nothing'})`);
  }
  return chosen.data;
}
