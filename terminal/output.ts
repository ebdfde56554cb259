/**
 * Where a command's output goes (the convention in cli/README.md): results on stdout, as human lines on a
 * terminal, one JSON line per record otherwise, or one JSON document with `--json`; progress, notes and errors
 * on stderr, drawn on a terminal and as JSON lines otherwise.
 */
import { type OutputStream, printNote } from './print-error';
import { createProgress, type Progress } from './progress';

export type { OutputStream };

/** How results are printed. */
export type OutputMode = 'human' | 'lines' | 'json';

/** How a result is shown in each mode. */
export interface ResultView<T> {
  /** Lines for a person. */
  readonly human: (result: T) => string | readonly string[];
  /** The records of a JSON-lines stream (default: the result itself, on one line). */
  readonly lines?: (result: T) => readonly unknown[];
}

/** The output of one command run. */
export class CommandOutput {
  readonly mode: OutputMode;

  constructor(
    options: { readonly json?: boolean },
    readonly stdout: OutputStream = process.stdout,
    readonly stderr: OutputStream = process.stderr,
  ) {
    this.mode = options.json ? 'json' : stdout.isTTY ? 'human' : 'lines';
  }

  /** Prints the command's result once, in the run's mode. */
  result<T>(result: T, view: ResultView<T>): void {
    if (this.mode === 'json') {
      this.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    if (this.mode === 'lines') {
      for (const record of view.lines ? view.lines(result) : [result]) this.stdout.write(`${JSON.stringify(record)}\n`);
      return;
    }
    const lines = view.human(result);
    this.stdout.write(`${typeof lines === 'string' ? lines : lines.join('\n')}\n`);
  }

  /** A remark for whoever runs the command (never on stdout). */
  note(message: string, fields: Record<string, unknown> = {}): void {
    printNote(message, fields, this.stderr);
  }

  /** Progress of long steps, on stderr. */
  progress(): Progress {
    return createProgress(this.stderr);
  }
}
