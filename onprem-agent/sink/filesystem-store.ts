/**
 * The embedded object store: a directory tree with S3's create-only semantics. A put writes a temporary file,
 * fsyncs it, then hard-links it into place — link(2) fails if the name exists, so a key is created at most
 * once and appears complete or not at all.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  type Dirent,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { ObjectConflictError, type ObjectStore, type StoredObject } from './object-store';

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._/=-]*$/;

/** A create-only object store rooted at a directory. */
export class FilesystemStore implements ObjectStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new Error(`unsafe object key ${JSON.stringify(key.slice(0, 200))}`);
    }
    return join(this.root, ...key.split('/'));
  }

  async putIfAbsent(key: string, body: Uint8Array, sha256: string): Promise<StoredObject> {
    const path = this.path(key);
    const actual = createHash('sha256').update(body).digest('hex');
    if (actual !== sha256) throw new Error(`${key}: body does not match its declared SHA-256`);
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${process.pid}-${Date.now()}`;
    const fd = openSync(temp, 'wx');
    try {
      let written = 0;
      while (written < body.length) written += writeSync(fd, body, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, path);
      syncDirectory(dirname(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const existing = await this.head(key);
      if (existing?.sha256 !== sha256) throw new ObjectConflictError(key);
    } finally {
      unlinkSync(temp);
    }
    return { key, bytes: body.length, sha256 };
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const path = this.path(key);
    try {
      const body = readFileSync(path);
      return { key, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return readFileSync(this.path(key));
  }

  async list(prefix: string): Promise<string[]> {
    return listFileKeys(this.root, prefix);
  }
}

/**
 * Keys (`/`-separated paths relative to `root`) of the complete files under `root` that start with `prefix`,
 * sorted; temporary files of in-flight writes are skipped. The walk starts at the prefix's deepest directory.
 */
export function listFileKeys(root: string, prefix: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!entry.name.includes('.tmp-')) {
        const key = relative(root, full).split(sep).join('/');
        if (key.startsWith(prefix)) out.push(key);
      }
    }
  };
  walk(join(root, ...prefix.split('/').slice(0, -1)));
  return out.sort();
}

/** fsync a directory so a new name in it survives a crash. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
