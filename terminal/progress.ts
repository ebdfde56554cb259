/**
 * Progress of steps that take more than a moment (seeding, extracting, each retraining state, training rounds).
 * On a terminal: one live line per step, drawn by cli-progress, with its elapsed time, a bar where the step has
 * a known total, and its latest detail; a finished step keeps its line with a ✔ (or ✖). Elsewhere (pipes, cron,
 * CI): JSON lines `{"progress": step, "event": "start" | "update" | "done" | "failed", …}`, updates at most one
 * per second per step so a log stays readable.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { OutputStream } from './print-error';

/** One step being watched. */
export interface ProgressTask {
  /** New detail (and, for a step with a total, how far it is); `fields` go into the JSON line. */
  update(detail: string, value?: number, fields?: Record<string, unknown>): void;
  /** The step finished; `summary` replaces its detail. */
  done(summary?: string, fields?: Record<string, unknown>): void;
  /** The step failed. */
  fail(reason: string): void;
}

/** Progress of one command run. */
export interface Progress {
  /** Starts watching a step; `total` draws a bar (e.g. training rounds). */
  task(title: string, total?: number): ProgressTask;
  /** Stops drawing; call before printing results. Idempotent. */
  stop(): void;
}

/** The renderer for a stream: live lines on a terminal, JSON lines elsewhere. */
export function createProgress(stream: OutputStream): Progress {
  return stream.isTTY ? new TerminalProgress(stream as NodeJS.WriteStream) : new JsonLinesProgress(stream);
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 20;

interface Line {
  title: string;
  detail: string;
  state: 'running' | 'done' | 'failed';
  started: number;
  seconds?: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

class TerminalProgress implements Progress {
  private bars?: MultiBar;
  private width = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  private multibar(): MultiBar {
    if (!this.bars) this.restoreTerminalOnSignals();
    this.bars ??= new MultiBar({
      stream: this.stream,
      clearOnComplete: false,
      hideCursor: true,
      fps: 10,
      autopadding: false,
      format: (_options, params, payload: { line: Line; hasTotal: boolean }) => {
        const { line, hasTotal } = payload;
        const symbol =
          line.state === 'done' ? '✔' : line.state === 'failed' ? '✖' : SPINNER[Math.floor(Date.now() / 100) % 10];
        const elapsed = line.seconds !== undefined ? line.seconds * 1000 : Date.now() - line.started;
        const filled = Math.round(Math.min(1, params.progress) * BAR_WIDTH);
        const bar =
          hasTotal && line.state === 'running' ? ` ${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}` : '';
        return `${symbol} ${line.title.padEnd(this.width)}  ${seconds(elapsed).padStart(7)}${bar}  ${line.detail}`;
      },
    });
    return this.bars;
  }

  task(title: string, total?: number): ProgressTask {
    this.width = Math.max(this.width, title.length);
    const line: Line = { title, detail: '', state: 'running', started: Date.now() };
    const payload = { line, hasTotal: total !== undefined && total > 0 };
    const bar: SingleBar = this.multibar().create(total && total > 0 ? total : 1, 0, payload);
    let value = 0;
    const finish = (state: Line['state'], detail: string) => {
      if (line.state !== 'running') return;
      line.state = state;
      line.detail = detail;
      line.seconds = (Date.now() - line.started) / 1000;
      bar.update(payload.hasTotal ? value : 1, payload);
      bar.stop();
    };
    return {
      update: (detail, current) => {
        if (line.state !== 'running') return;
        line.detail = detail;
        if (current !== undefined) value = current;
        bar.update(value, payload);
      },
      done: (summary) => finish('done', summary ?? line.detail),
      fail: (reason) => finish('failed', reason),
    };
  }

  stop(): void {
    this.bars?.stop();
    this.bars = undefined;
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.signalHandlers = [];
  }

  private signalHandlers: [NodeJS.Signals, () => void][] = [];

  /** On Ctrl-C or SIGTERM: stop drawing (the cursor comes back), then let the signal end the process as usual. */
  private restoreTerminalOnSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        this.stop();
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      };
      process.once(signal, handler);
      this.signalHandlers.push([signal, handler]);
    }
  }
}

class JsonLinesProgress implements Progress {
  constructor(private readonly stream: OutputStream) {}

  private emit(record: Record<string, unknown>): void {
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  task(title: string, total?: number): ProgressTask {
    const started = Date.now();
    let lastUpdate = 0;
    let finished = false;
    this.emit({ progress: title, event: 'start', ...(total ? { total } : {}) });
    const end = (event: 'done' | 'failed', fields: Record<string, unknown>) => {
      if (finished) return;
      finished = true;
      this.emit({ progress: title, event, seconds: Number(((Date.now() - started) / 1000).toFixed(3)), ...fields });
    };
    return {
      update: (detail, value, fields = {}) => {
        const now = Date.now();
        if (finished || now - lastUpdate < 1000) return;
        lastUpdate = now;
        this.emit({ progress: title, event: 'update', detail, ...(value !== undefined ? { value } : {}), ...fields });
      },
      done: (summary, fields = {}) => end('done', { ...(summary ? { detail: summary } : {}), ...fields }),
      fail: (reason) => end('failed', { reason }),
    };
  }

  stop(): void {}
}
