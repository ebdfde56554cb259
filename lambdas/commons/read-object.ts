/**
 * Reads an artifact by URI: `s3://bucket/key` through the AWS SDK (the client is loaded only when needed,
 * so local runs never touch it), or a local path (`file://` optional).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Upper bound on an artifact read into memory. */
export const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/** Returns the object's bytes. Errors name the URI's scheme and location, never credentials. */
export async function readObject(uri: string): Promise<Uint8Array> {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (s3) {
    const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({});
    const response = await client.send(new GetObjectCommand({ Bucket: s3[1], Key: s3[2] }));
    if (!response.Body) throw new Error(`s3://${s3[1]}/${s3[2]} has no body`);
    if ((response.ContentLength ?? 0) > MAX_OBJECT_BYTES) throw new Error(`s3://${s3[1]}/${s3[2]} is too large`);
    return response.Body.transformToByteArray();
  }
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  return readFileSync(path); // synchronous: at start-up a thread-pool round trip only adds latency
}
