/**
 * The agent's local state per dataset: the committed watermark, and while a run is open its plan and the
 * parts already stored (append-only, fsynced). A killed run resumes from here without re-sending stored parts.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { syncDirectory } from '../sink/filesystem-store';

/** Raised when another live agent process holds a dataset's run lock. */
export class RunLocked extends Error {
  constructor(readonly pid: number) {
    super(`another agent process (pid ${pid}) is extracting this dataset`);
    this.name = 'RunLocked';
  }
}

/** The pid in a lock file, or undefined when it is gone or holds no pid. */
function lockHolder(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

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

  /**
   * Takes the dataset's run lock: one agent process extracts a dataset at a time (a cron job that outlasts its
   * interval must not run beside the next). A lock whose process is gone (killed) is taken over. Returns the
   * release function; throws {@link RunLocked} when a live process holds the lock.
   */
  lock(): () => void {
    const path = this.file('run.lock');
    // The lock appears with its holder's pid already in it: written to a file of this process, then hard-linked
    // into place, which fails when the lock exists. Created empty and written after, it could be read empty by
    // another process, taken for a dead holder's and removed while its holder runs.
    const mine = this.file(`run.lock.${process.pid}`);
    writeFileSync(mine, String(process.pid), { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          linkSync(mine, path);
          return () => rmSync(path, { force: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = lockHolder(path);
        if (holder !== undefined && isAlive(holder)) throw new RunLocked(holder);
        rmSync(path, { force: true }); // left by a killed run (or released meanwhile): take it over
      }
    } finally {
      rmSync(mine, { force: true });
    }
    throw new Error(`cannot take the run lock ${path}`);
  }

  /** Where a run spools its anonymised lines (see spool.ts). */
  spoolPath(): string {
    return this.file('spool.bin');
  }

  watermark(): WatermarkPosition | null {
    return readJson(this.file('watermark.json'));
  }

  /** The open run's plan, and where its pass ended (absent from a journal an earlier agent wrote). */
  openRun(): (RunPlan & { readonly to?: WatermarkPosition | null }) | null {
    return readJson(this.file('run.json'));
  }

  /**
   * Records a new run's plan durably before anything is uploaded, with the position its pass ended at: the raw
   * position the watermark advances to once the manifest is stored (the manifest carries the key as written).
   */
  startRun(plan: RunPlan, to: WatermarkPosition | null): void {
    writeDurably(this.file('run.json'), JSON.stringify({ ...plan, to }));
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
