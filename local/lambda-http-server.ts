/**
 * Serves a Lambda handler over HTTP on the loopback interface, the local stand-in for API Gateway: a request to
 * the function's route becomes a REST (v1) proxy event and the handler's proxy response the HTTP response; a
 * few read-only routes (health, version, API description, metrics) answer beside it. Any other path is 404, another
 * method on a known path 405. Bodies above the cap are refused with 413 before they are read in full; a client
 * that goes away mid-request costs that request only; `close()` stops taking connections and lets in-flight
 * requests finish.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';

/** A handler as deployed: `(event, context) => response`. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** The answer of a read-only route. */
export interface RouteAnswer {
  readonly statusCode: number;
  /** JSON, or with `contentType` the text itself. */
  readonly body: unknown;
  readonly contentType?: string;
}

/** Options of {@link startLambdaHttpServer}. */
export interface LambdaHttpServerOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Largest body accepted (bytes); larger ones get 413. */
  readonly maxBodyBytes: number;
  /** Function name reported in the Lambda context. */
  readonly functionName: string;
  /** The function's route, e.g. `POST /score`. */
  readonly route: { readonly method: string; readonly path: string };
  /** Read-only `GET` routes by path, answered with JSON. */
  readonly getRoutes?: Readonly<Record<string, () => Promise<RouteAnswer>>>;
  /** How long `close()` waits for in-flight requests before cutting their connections (ms). @default 10000 */
  readonly drainMs?: number;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, waits for in-flight requests to finish (up to the drain time), then resolves. */
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and resolves once it listens. */
export async function startLambdaHttpServer(
  handler: LambdaHandler,
  options: LambdaHttpServerOptions,
): Promise<RunningServer> {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = createServer((request, response) => {
    inFlight++;
    response.once('close', () => {
      if (--inFlight === 0) drained?.();
    });
    serve(handler, options, request, response).catch(() => {
      // serve() answers every failure itself; this only guards against a response that can no longer be written.
      if (!response.headersSent) response.destroy();
    });
  });
  // A client that resets its connection mid-request is that connection's problem, never the server's.
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), options.drainMs ?? 10_000);
        cut.unref();
        const whenDrained = () => {
          server.closeIdleConnections();
          clearTimeout(cut);
        };
        if (inFlight === 0) whenDrained();
        else drained = whenDrained;
      })),
  };
}

async function serve(
  handler: LambdaHandler,
  options: LambdaHttpServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const method = request.method ?? 'GET';
  const getRoute = options.getRoutes?.[url.pathname];
  const isFunctionRoute = url.pathname === options.route.path;
  if (!getRoute && !isFunctionRoute) {
    const known = [
      `${options.route.method} ${options.route.path}`,
      ...Object.keys(options.getRoutes ?? {}).map((p) => `GET ${p}`),
    ];
    request.resume();
    return send(response, 404, {
      statusCode: 404,
      error: `no such route; this server has ${known.join(', ')}`,
      requestId,
    });
  }
  const allowed = getRoute ? 'GET' : options.route.method;
  if (method !== allowed) {
    request.resume();
    return send(
      response,
      405,
      { statusCode: 405, error: `use ${allowed} on ${url.pathname}`, requestId },
      { allow: allowed },
    );
  }
  if (getRoute) {
    request.resume();
    const answer = await getRoute().catch(() => ({
      statusCode: 500,
      body: { statusCode: 500, error: 'internal error' },
    }));
    if ('contentType' in answer && answer.contentType && typeof answer.body === 'string') {
      if (response.destroyed) return;
      response.writeHead(answer.statusCode, { 'content-type': answer.contentType });
      response.end(answer.body);
      return;
    }
    return send(response, answer.statusCode, answer.body);
  }

  const body = await readBody(request, options.maxBodyBytes);
  if (body === 'aborted') return; // the client left: nobody to answer
  if (body === 'too-large') {
    send(response, 413, { statusCode: 413, error: `the body exceeds ${options.maxBodyBytes} bytes`, requestId });
    request.resume();
    return;
  }
  const event = {
    resource: url.pathname,
    path: url.pathname,
    httpMethod: method,
    headers: Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    ),
    queryStringParameters: Object.fromEntries(url.searchParams),
    body: body.length > 0 ? body.toString('base64') : null,
    isBase64Encoded: true,
    requestContext: { requestId, stage: 'local', httpMethod: method, path: url.pathname },
  };
  try {
    const result = (await handler(event, lambdaContext(options.functionName, requestId))) as {
      statusCode?: number;
      headers?: Record<string, string>;
      body?: string;
    };
    if (response.destroyed) return;
    response.writeHead(result.statusCode ?? 200, result.headers ?? { 'content-type': 'application/json' });
    response.end(result.body ?? '');
  } catch {
    send(response, 502, { statusCode: 502, error: 'the handler failed', requestId });
  }
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** The body; `too-large` once it grows past `limit` (reading stops there); `aborted` when the client left. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (value: Buffer | 'too-large' | 'aborted') => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) return settle('too-large');
      chunks.push(chunk);
    });
    request.once('end', () => settle(Buffer.concat(chunks)));
    request.once('error', () => settle('aborted'));
    request.once('close', () => {
      if (!request.complete) settle('aborted');
    });
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
