/**
 * A minimal S3 on 127.0.0.1 for wire-level tests of the S3 sink: path-style PUT/HEAD/GET with create-only
 * (`If-None-Match: *` → 412), SHA-256 checksum verification, and optional throttling (503 SlowDown) to
 * exercise the SDK's retries. It records every request's method, path and headers.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
export async function startS3StandIn(): Promise<S3StandIn> {
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
      const existing = state.objects.get(path);
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
