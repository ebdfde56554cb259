/**
 * The S3 sink: AWS SDK v3 through the S3 interface endpoint (endpoint override), credentials from the default
 * chain (which covers IAM Roles Anywhere's credential_process), SSE-KMS with the landing key, a SHA-256
 * checksum S3 verifies on every put, and create-only puts (`If-None-Match: *`). Throttling and transient
 * errors are retried by the SDK's standard strategy: exponential backoff with full jitter, capped.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ObjectConflictError, type ObjectStore, type StoredObject } from './object-store';

/** Options of {@link S3Store}. */
export interface S3StoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** KMS key (ARN) every object is encrypted with. */
  readonly kmsKeyId: string;
  /** Endpoint override, e.g. the S3 interface endpoint's DNS name. */
  readonly endpoint?: string;
  /** Path-style addressing (local stand-ins). @default false */
  readonly forcePathStyle?: boolean;
  /** Attempts per request, first included. @default 6 */
  readonly maxAttempts?: number;
  /** A client to use instead of building one (tests, custom credentials). */
  readonly client?: S3Client;
}

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const base64ToHex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

/** A create-only {@link ObjectStore} on S3. */
export class S3Store implements ObjectStore {
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client =
      options.client ??
      new S3Client({
        region: options.region,
        endpoint: options.endpoint,
        forcePathStyle: options.forcePathStyle ?? false,
        maxAttempts: options.maxAttempts ?? 6,
        retryMode: 'standard',
      });
  }

  async putIfAbsent(key: string, body: Uint8Array, sha256: string): Promise<StoredObject> {
    if (createHash('sha256').update(body).digest('hex') !== sha256) {
      throw new Error(`${key}: body does not match its declared SHA-256`);
    }
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          IfNoneMatch: '*',
          ChecksumSHA256: hexToBase64(sha256),
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: this.options.kmsKeyId,
          ContentType: key.endsWith('.json') ? 'application/json' : 'application/gzip',
        }),
      );
    } catch (error) {
      if (!isStatus(error, 412) && !isStatus(error, 409)) throw error;
      const existing = await this.head(key);
      if (existing?.sha256 !== sha256) throw new ObjectConflictError(key);
    }
    return { key, bytes: body.length, sha256 };
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const result = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
      const sha256 = result.ChecksumSHA256 ? base64ToHex(result.ChecksumSHA256.split('-')[0]) : '';
      return { key, bytes: result.ContentLength ?? 0, sha256 };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const result = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    return result.Body!.transformToByteArray();
  }

  /** Needs s3:ListBucket, which the agent role holds for listings under its datasets' prefixes only. */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof S3ServiceException
    ? error.$metadata.httpStatusCode === status
    : (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === status;
}
