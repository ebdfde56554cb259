/** Lines to a file, fast: what Prepare writes its channels and test records with. */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Bytes of the write buffer of {@link writeLines}. */
const WRITE_BUFFER_BYTES = 1 << 21;

/**
 * Writes the lines `produce` emits to a file, each ending in a newline, encoded into one reused buffer (a
 * string buffer grown line by line costs more than building the lines).
 */
export async function writeLines(
  path: string,
  produce: (emit: (line: string) => void) => Promise<unknown>,
  bufferBytes = WRITE_BUFFER_BYTES,
): Promise<void> {
  const fd = openSync(path, 'w');
  try {
    const buffer = Buffer.allocUnsafe(bufferBytes);
    let used = 0;
    await produce((line) => {
      // A UTF-16 unit takes at most 3 bytes in UTF-8.
      const most = line.length * 3 + 1;
      if (used + most > buffer.length) {
        writeSync(fd, buffer, 0, used);
        used = 0;
      }
      if (most > buffer.length) {
        writeSync(fd, `${line}\n`);
        return;
      }
      used += buffer.write(line, used, 'utf8');
      buffer[used++] = 0x0a;
    });
    if (used > 0) writeSync(fd, buffer, 0, used);
  } finally {
    closeSync(fd);
  }
}
