/**
 * The agent's local state per dataset: the committed watermark, and while a run is open its plan and the
 * parts already stored (append-only, fsynced). A killed run resumes from here without re-sending stored parts.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { syncDirectory } from '../sink/filesystem-store';

/** Position after the last extracted row: its watermark value and primary key. */
export interface WatermarkPosition {
  readonly value: string | number;
  readonly key: string | number;
}

/** An open run's plan, fixed when it starts. */
export interface RunPlan {
  readonly runId: string;
  readonly startedAt: string;
  readonly from: WatermarkPosition | null;
  readonly upperBound: string | number;
  readonly policySha256: string;
}

/** A stored part, as journaled. */
export interface JournaledPart {
  readonly index: number;
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** File-backed journal of one dataset. */
export class Journal {
  private readonly dir: string;

  constructor(stateDir: string, dataset: string) {
    this.dir = join(stateDir, dataset);
    mkdirSync(this.dir, { recursive: true });
  }

  private file(name: string): string {
    return join(this.dir, name);
  }

  /** Where a run spools its anonymised lines (see spool.ts). */
  spoolPath(): string {
    return this.file('spool.bin');
  }

  watermark(): WatermarkPosition | null {
    return readJson(this.file('watermark.json'));
  }

  openRun(): RunPlan | null {
    return readJson(this.file('run.json'));
  }

  /** Records a new run's plan durably before anything is uploaded. */
  startRun(plan: RunPlan): void {
    writeDurably(this.file('run.json'), JSON.stringify(plan));
    rmSync(this.file('parts.jsonl'), { force: true });
  }

  parts(): Map<number, JournaledPart> {
    const path = this.file('parts.jsonl');
    const out = new Map<number, JournaledPart>();
    if (!existsSync(path)) return out;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const part = JSON.parse(line) as JournaledPart;
        out.set(part.index, part);
      } catch {
        // A torn last line from a crash mid-append: that part is simply re-sent.
      }
    }
    return out;
  }

  partStored(part: JournaledPart): void {
    const path = this.file('parts.jsonl');
    appendFileSync(path, `${JSON.stringify(part)}\n`);
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Forgets an open run that cannot be completed (its stored parts stay, without a manifest). */
  abandonRun(): void {
    rmSync(this.file('parts.jsonl'), { force: true });
    rmSync(this.file('run.json'), { force: true });
    syncDirectory(this.dir);
  }

  /** Commits the watermark (after the manifest is stored) and closes the run. */
  finishRun(to: WatermarkPosition | null): void {
    if (to) writeDurably(this.file('watermark.json'), JSON.stringify(to));
    rmSync(this.file('parts.jsonl'), { force: true });
    rmSync(this.file('run.json'), { force: true });
    syncDirectory(this.dir);
  }
}

function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Write to a temporary file, fsync, rename over the target, fsync the directory. */
function writeDurably(path: string, text: string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, text);
  const fd = openSync(temp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDirectory(join(path, '..'));
}
