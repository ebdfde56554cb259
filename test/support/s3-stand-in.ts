/**
 * A minimal S3 on 127.0.0.1 for wire-level tests of the S3 sink: path-style PUT/HEAD/GET with create-only
 * (`If-None-Match: *` → 412), SHA-256 checksum verification, ListObjectsV2, and optional throttling (503
 * SlowDown) to exercise the SDK's retries. It records every request's method, path and headers.
 *
 * Given the caller's role policy it authorizes every request as S3 does: s3:PutObject, s3:GetObject (GET and
 * HEAD) on the object ARN, s3:ListBucket on the bucket ARN with the listing's `s3:prefix`; and a missing object
 * is 404 only to a caller that may list the bucket, 403 to any other. That check is modelled without an
 * `s3:prefix` in the request context (AWS does not document one for it), so a prefix-conditioned ListBucket
 * does not turn a missing object's 403 into 404 here: existence is asked with a listing instead.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RolePolicy } from './iam-policy';

/** A recorded request. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** A running stand-in. */
export interface S3StandIn {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  readonly objects: Map<string, Buffer>;
  /** Number of upcoming requests to answer with 503 SlowDown. */
  throttleNext: number;
  close(): Promise<void>;
}

const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

/** Starts the stand-in. */
export async function startS3StandIn(policy?: RolePolicy): Promise<S3StandIn> {
  const state = { requests: [] as RecordedRequest[], objects: new Map<string, Buffer>(), throttleNext: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      state.requests.push({ method: request.method ?? '', path, headers: { ...request.headers } });
      const send = (status: number, headers: Record<string, string> = {}, body = '') => {
        response.writeHead(status, { 'x-amz-request-id': 'standin', ...headers });
        response.end(body);
      };
      if (state.throttleNext > 0) {
        state.throttleNext--;
        return send(
          503,
          { 'content-type': 'application/xml' },
          xmlError('SlowDown', 'Please reduce your request rate.'),
        );
      }
      const body = Buffer.concat(chunks);
      const url = new URL(request.url ?? '/', 'http://x');
      const [, bucket = '', ...keyParts] = path.split('/');
      const key = keyParts.join('/');
      const denied = () =>
        send(
          403,
          { 'content-type': 'application/xml' },
          request.method === 'HEAD' ? '' : xmlError('AccessDenied', 'Access Denied'),
        );
      const allowed = (action: string, resource: string, context?: Record<string, string>) =>
        !policy || policy.allows({ action, resource, context });
      if (request.method === 'GET' && !key && url.searchParams.get('list-type') === '2') {
        const prefix = url.searchParams.get('prefix') ?? '';
        if (!allowed('s3:ListBucket', `arn:aws:s3:::${bucket}`, { 's3:prefix': prefix })) return denied();
        const keys = [...state.objects.keys()]
          .filter((k) => k.startsWith(`/${bucket}/${prefix}`))
          .map((k) => k.slice(bucket.length + 2))
          .sort();
        const contents = keys.map((k) => `<Contents><Key>${k}</Key></Contents>`).join('');
        return send(
          200,
          { 'content-type': 'application/xml' },
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix>` +
            `<KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
        );
      }
      const objectAction = request.method === 'PUT' ? 's3:PutObject' : 's3:GetObject';
      if (!allowed(objectAction, `arn:aws:s3:::${bucket}/${key}`)) return denied();
      const existing = state.objects.get(path);
      if (!existing && request.method !== 'PUT' && !allowed('s3:ListBucket', `arn:aws:s3:::${bucket}`)) return denied();
      switch (request.method) {
        case 'PUT': {
          if (request.headers['if-none-match'] === '*' && existing) {
            return send(
              412,
              { 'content-type': 'application/xml' },
              xmlError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'),
            );
          }
          const declared = request.headers['x-amz-checksum-sha256'];
          const actual = createHash('sha256').update(body).digest('base64');
          if (declared !== actual)
            return send(400, { 'content-type': 'application/xml' }, xmlError('BadDigest', 'checksum mismatch'));
          state.objects.set(path, body);
          return send(200, {
            etag: `"${createHash('md5').update(body).digest('hex')}"`,
            'x-amz-checksum-sha256': actual,
          });
        }
        case 'HEAD':
          if (!existing) return send(404);
          return send(200, {
            'content-length': String(existing.length),
            'x-amz-checksum-sha256': createHash('sha256').update(existing).digest('base64'),
          });
        case 'GET':
          if (!existing) return send(404, { 'content-type': 'application/xml' }, xmlError('NoSuchKey', 'no such key'));
          return send(200, { 'content-length': String(existing.length) }, existing as unknown as string);
        default:
          return send(405);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** S3 client options that reach a stand-in: its endpoint, path-style addressing, throwaway credentials. */
export function standInClientConfig(endpoint: string) {
  return {
    region: 'eu-west-2',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
  };
}
