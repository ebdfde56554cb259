/**
 * Reads an artifact by URI: `s3://bucket/key` through the AWS SDK (the client is loaded only when needed,
 * so local runs never touch it), or a local path (`file://` optional).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as S3Sdk from '@aws-sdk/client-s3';

/** Upper bound on an artifact read into memory. */
export const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/** The S3 client, created once per container and only when an `s3://` URI is read. */
let s3Client: Promise<{ client: S3Sdk.S3Client; sdk: typeof S3Sdk }> | undefined;

/** Returns the object's bytes. Errors name the URI's scheme and location, never credentials. */
export async function readObject(uri: string): Promise<Uint8Array> {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (s3) {
    s3Client ??= import('@aws-sdk/client-s3').then((sdk) => ({ client: new sdk.S3Client({}), sdk }));
    const { client, sdk } = await s3Client;
    const response = await client.send(new sdk.GetObjectCommand({ Bucket: s3[1], Key: s3[2] }));
    if (!response.Body) throw new Error(`s3://${s3[1]}/${s3[2]} has no body`);
    if ((response.ContentLength ?? 0) > MAX_OBJECT_BYTES) throw new Error(`s3://${s3[1]}/${s3[2]} is too large`);
    return response.Body.transformToByteArray();
  }
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  return readFileSync(path); // synchronous: at start-up a thread-pool round trip only adds latency
}
