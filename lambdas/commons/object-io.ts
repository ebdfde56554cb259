/**
 * Reads and writes objects by URI: `s3://bucket/key` through the AWS SDK (one client, loaded only when needed,
 * so local runs never touch it), or a local path (`file://` optional). A local write goes under a temporary name
 * and is renamed, so a reader never sees half a file.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as S3Sdk from '@aws-sdk/client-s3';

/** Upper bound on an artifact read into memory. */
export const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/** The S3 client, created once per container and only when an `s3://` URI is read. */
let s3Client: Promise<{ client: S3Sdk.S3Client; sdk: typeof S3Sdk }> | undefined;

const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

function s3() {
  s3Client ??= import('@aws-sdk/client-s3').then((sdk) => ({ client: new sdk.S3Client({}), sdk }));
  return s3Client;
}

/** Returns the object's bytes. Errors name the URI's scheme and location, never credentials. */
export async function readObject(uri: string): Promise<Uint8Array> {
  const location = S3_URI.exec(uri);
  if (location) {
    const [, bucket, key] = location;
    const { client, sdk } = await s3();
    const response = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new Error(`s3://${bucket}/${key} has no body`);
    if ((response.ContentLength ?? 0) > MAX_OBJECT_BYTES) throw new Error(`s3://${bucket}/${key} is too large`);
    return response.Body.transformToByteArray();
  }
  return readFileSync(localPath(uri)); // synchronous: at start-up a thread-pool round trip only adds latency
}

/** Options of {@link writeObject}. */
export interface WriteOptions {
  readonly contentType?: string;
  /**
   * Aborts the S3 request after this long, counted from the call: whatever of it is still under way then (a reply
   * awaited, a retry, its backoff) ends and the write fails. @default no bound but the SDK's own
   */
  readonly timeoutMs?: number;
}

/** Writes `body` at `uri`. Errors name the location, never credentials. */
export async function writeObject(uri: string, body: string, options: WriteOptions = {}): Promise<void> {
  const location = S3_URI.exec(uri);
  if (location) {
    const [, bucket, key] = location;
    const { client, sdk } = await s3();
    const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    const command = new sdk.PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: options.contentType ?? 'application/json',
    });
    try {
      await client.send(command, signal ? { abortSignal: signal } : {});
    } catch (error) {
      if (!signal?.aborted) throw error;
      throw new Error(`s3://${bucket}/${key} was not written within ${options.timeoutMs} ms`, { cause: error });
    }
    return;
  }
  const path = localPath(uri);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, body);
  await rename(temporary, path);
}

function localPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}
