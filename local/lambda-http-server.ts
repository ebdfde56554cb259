/**
 * Serves a Lambda handler over HTTP on the loopback interface, the local stand-in for API Gateway: each
 * request becomes a REST (v1) proxy event, the handler's proxy response becomes the HTTP response. Bodies
 * above the cap are refused with 413 before they are read in full.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';

/** A handler as deployed: `(event, context) => response`. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Options of {@link startLambdaHttpServer}. */
export interface LambdaHttpServerOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Largest body accepted (bytes); larger ones get 413. */
  readonly maxBodyBytes: number;
  /** Function name reported in the Lambda context. */
  readonly functionName: string;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and resolves once it listens. */
export async function startLambdaHttpServer(
  handler: LambdaHandler,
  options: LambdaHttpServerOptions,
): Promise<RunningServer> {
  const server = createServer((request, response) => {
    void serve(handler, options, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function serve(
  handler: LambdaHandler,
  options: LambdaHttpServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readBody(request, options.maxBodyBytes);
  const requestId = randomUUID();
  if (body === undefined) {
    send(response, 413, { statusCode: 413, error: `the body exceeds ${options.maxBodyBytes} bytes`, requestId });
    request.resume();
    return;
  }
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const event = {
    resource: url.pathname,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers: Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    ),
    queryStringParameters: Object.fromEntries(url.searchParams),
    body: body.length > 0 ? body.toString('base64') : null,
    isBase64Encoded: true,
    requestContext: { requestId, stage: 'local', httpMethod: request.method, path: url.pathname },
  };
  try {
    const result = (await handler(event, lambdaContext(options.functionName, requestId))) as {
      statusCode?: number;
      headers?: Record<string, string>;
      body?: string;
    };
    response.writeHead(result.statusCode ?? 200, result.headers ?? { 'content-type': 'application/json' });
    response.end(result.body ?? '');
  } catch {
    send(response, 502, { error: 'the handler failed', requestId });
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  response.end(JSON.stringify(body));
}

/** The body, or undefined once it grows past `limit` (reading stops there). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    request.on('error', reject);
  });
}

/** A Lambda context for in-process invocations. */
export function lambdaContext(functionName: string, awsRequestId: string = randomUUID()): Context {
  const deadline = Date.now() + 30_000;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
