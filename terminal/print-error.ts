/**
 * How errors, warnings and notes reach stderr under the CLI convention: a line for a person on a terminal, one
 * JSON line otherwise. Kept apart from the result output so that `mlp --help` loads only this.
 */
import type { DescribedError } from './errors';

/** The writable side of a terminal or pipe. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Prints an error: `<program>: message` and its hint on a terminal, one JSON line otherwise. */
export function printError(program: string, error: DescribedError, stderr: OutputStream = process.stderr): void {
  if (stderr.isTTY) {
    stderr.write(`${program}: ${error.message}\n${error.hint ? `  ${error.hint}\n` : ''}`);
    return;
  }
  const hint = error.hint ? { hint: error.hint } : {};
  stderr.write(
    `${JSON.stringify({ level: 'ERROR', message: `${program}: ${error.message}`, ...hint, exitCode: error.exitCode })}\n`,
  );
}

/** A remark for whoever runs the command: the text on a terminal, `{"level": "INFO", message, …}` otherwise. */
export function printNote(
  message: string,
  fields: Record<string, unknown> = {},
  stderr: OutputStream = process.stderr,
  level: 'INFO' | 'WARN' = 'INFO',
): void {
  if (stderr.isTTY) stderr.write(`${message}\n`);
  else stderr.write(`${JSON.stringify({ level, message, ...fields })}\n`);
}
