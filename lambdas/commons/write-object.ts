/**
 * Writes an object by URI: `s3://bucket/key` through the AWS SDK (loaded only when needed), or a local path
 * (`file://` optional), written under a temporary name and renamed so a reader never sees half a file.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as S3Sdk from '@aws-sdk/client-s3';

let s3Client: Promise<{ client: S3Sdk.S3Client; sdk: typeof S3Sdk }> | undefined;

/** Writes `body` at `uri`. Errors name the location, never credentials. */
export async function writeObject(uri: string, body: string, contentType = 'application/json'): Promise<void> {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (s3) {
    s3Client ??= import('@aws-sdk/client-s3').then((sdk) => ({ client: new sdk.S3Client({}), sdk }));
    const { client, sdk } = await s3Client;
    await client.send(new sdk.PutObjectCommand({ Bucket: s3[1], Key: s3[2], Body: body, ContentType: contentType }));
    return;
  }
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, body);
  await rename(temporary, path);
}
