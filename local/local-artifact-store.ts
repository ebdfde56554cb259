/**
 * The local twin of the artifact store: a directory per bucket under `$MLP_HOME/s3/`, `root/<bucket>/<key>`, with
 * S3's semantics where the steps rely on them (a put replaces atomically; a missing key is ArtifactNotFoundError).
 */
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { listFileKeys } from '../onprem-agent/sink/filesystem-store';
import { type ArtifactStore, ArtifactNotFoundError, parseS3Uri } from '../stepfunctions/artifact-store';

/** The local stand-in: `root/<bucket>/<key>`. */
export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  /** Local file path of a URI (the local scorer loads models from these paths). */
  pathOf(uri: string): string {
    const { bucket, key } = parseS3Uri(uri);
    return join(this.root, bucket, ...key.split('/'));
  }

  async get(uri: string): Promise<Uint8Array> {
    try {
      return readFileSync(this.pathOf(uri));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotFoundError(uri);
      throw error;
    }
  }

  async put(uri: string, body: Uint8Array | string): Promise<void> {
    const path = this.pathOf(uri);
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${process.pid}`;
    writeFileSync(temp, body);
    renameSync(temp, path);
  }

  /**
   * Writes a file only if none exists: written aside, then hard-linked into place (the link fails when the name
   * is taken, so readers never see a partial file and a concurrent writer loses cleanly); left read-only.
   */
  async create(uri: string, body: string): Promise<boolean> {
    const path = this.pathOf(uri);
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${process.pid}-${Date.now()}`;
    writeFileSync(temp, body, { mode: 0o444 });
    try {
      linkSync(temp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      unlinkSync(temp);
    }
  }

  async download(uri: string, path: string): Promise<void> {
    try {
      copyFileSync(this.pathOf(uri), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotFoundError(uri);
      throw error;
    }
  }

  async upload(uri: string, path: string): Promise<void> {
    const target = this.pathOf(uri);
    mkdirSync(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    copyFileSync(path, temp);
    renameSync(temp, target);
  }

  async exists(uri: string): Promise<boolean> {
    try {
      return statSync(this.pathOf(uri)).isFile();
    } catch {
      return false;
    }
  }

  async delete(uri: string): Promise<void> {
    rmSync(this.pathOf(uri), { force: true });
  }

  async list(prefixUri: string): Promise<string[]> {
    const { bucket, key } = parseS3Uri(prefixUri);
    return listFileKeys(join(this.root, bucket), key).map((objectKey) => `s3://${bucket}/${objectKey}`);
  }
}
