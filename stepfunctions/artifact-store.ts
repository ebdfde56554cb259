/**
 * Where the retraining steps read and write artifacts, addressed by `s3://bucket/key` URIs in both worlds:
 * S3 through the AWS SDK in Lambda, and a directory per bucket under `$MLP_HOME/s3/` locally
 * (local/local-artifact-store.ts). The steps never see the difference.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import { httpStatusOf } from './sdk-error';

/** Artifact storage by `s3://` URI. */
export interface ArtifactStore {
  get(uri: string): Promise<Uint8Array>;
  /** Writes (replaces) an object; readers see the old or the new bytes, never a mix. */
  put(uri: string, body: Uint8Array | string): Promise<void>;
  exists(uri: string): Promise<boolean>;
  /** Removes an object; removing one that is not there is no error. */
  delete(uri: string): Promise<void>;
  /** URIs of the objects under a prefix URI, sorted. */
  list(prefixUri: string): Promise<string[]>;
  /** Streams an object into a local file (for objects too large to hold in memory). */
  download(uri: string, path: string): Promise<void>;
  /** Streams a local file into an object (replacing it), as {@link put} does. */
  upload(uri: string, path: string): Promise<void>;
}

/** SHA-256 of a file, streamed. */
export async function fileSha256(path: string, encoding: 'hex' | 'base64' = 'hex'): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest(encoding);
}

/** Raised when an artifact is absent. */
export class ArtifactNotFoundError extends Error {
  constructor(uri: string) {
    super(`${uri} does not exist`);
    this.name = 'ArtifactNotFoundError';
  }
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Splits an `s3://bucket/key` URI, rejecting anything else (and path tricks in keys). */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match || !BUCKET.test(match[1])) throw new Error(`not an s3://bucket/key URI: ${uri.slice(0, 200)}`);
  const key = match[2];
  if (key.split('/').some((part) => part === '..' || part === '.')) throw new Error(`unsafe key in ${uri}`);
  return { bucket: match[1], key };
}

/** S3 through the AWS SDK (default credential chain; the client is loaded on first use). */
export class S3ArtifactStore implements ArtifactStore {
  private client?: Promise<typeof S3 & { s3: S3.S3Client }>;

  /** @param config S3 client configuration (default: the SDK's default chain, which Lambda sets). */
  constructor(private readonly config: S3.S3ClientConfig = {}) {}

  private sdk() {
    this.client ??= import('@aws-sdk/client-s3').then((m) => ({ ...m, s3: new m.S3Client(this.config) }));
    return this.client;
  }

  async get(uri: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, GetObjectCommand, NoSuchKey } = await this.sdk();
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await response.Body!.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey) throw new ArtifactNotFoundError(uri);
      throw error;
    }
  }

  async put(uri: string, body: Uint8Array | string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, PutObjectCommand } = await this.sdk();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ChecksumAlgorithm: 'SHA256' }));
  }

  /**
   * Writes an object only if none exists (PutObject with `If-None-Match: *`): false when S3 answers 412 (one
   * exists) or 409 (a concurrent conditional write to the key won).
   */
  async create(uri: string, body: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, PutObjectCommand } = await this.sdk();
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*', ChecksumAlgorithm: 'SHA256' }),
      );
      return true;
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  /**
   * Asked with a listing whose prefix is the key itself: S3 answers a HeadObject on a missing key with 403
   * unless the caller may list the bucket, and a ListBucket grant confined by `s3:prefix` is certain to apply
   * to a listing that names its prefix, not to that check.
   */
  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, ListObjectsV2Command } = await this.sdk();
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
    return page.Contents?.[0]?.Key === key;
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, DeleteObjectCommand } = await this.sdk();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async download(uri: string, path: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, GetObjectCommand, NoSuchKey } = await this.sdk();
    let body: Readable;
    try {
      body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
    } catch (error) {
      if (error instanceof NoSuchKey) throw new ArtifactNotFoundError(uri);
      throw error;
    }
    await pipeline(body, createWriteStream(path));
  }

  /**
   * One PutObject (up to S3's 5 GB), its SHA-256 computed first so S3 checks the whole body. The SDK cannot
   * resend a stream it has consumed, so a failed attempt is retried here with the file opened again (three
   * attempts, backing off).
   */
  async upload(uri: string, path: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    const { s3, PutObjectCommand } = await this.sdk();
    const checksum = await fileSha256(path, 'base64');
    const size = statSync(path).size;
    for (let attempt = 1; ; attempt++) {
      const body = createReadStream(path);
      try {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size, ChecksumSHA256: checksum }),
        );
        return;
      } catch (error) {
        const status = httpStatusOf(error);
        const transient = status === undefined || status >= 500 || status === 429;
        if (!transient || attempt >= 3) throw error;
        await new Promise((done) => setTimeout(done, 200 * 4 ** attempt));
      } finally {
        body.destroy();
      }
    }
  }

  async list(prefixUri: string): Promise<string[]> {
    const { bucket, key } = parseS3Uri(prefixUri);
    const { s3, ListObjectsV2Command } = await this.sdk();
    const uris: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }));
      for (const object of page.Contents ?? []) uris.push(`s3://${bucket}/${object.Key}`);
      token = page.NextContinuationToken;
    } while (token);
    return uris.sort();
  }
}
