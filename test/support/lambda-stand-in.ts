/**
 * A Lambda control plane on 127.0.0.1 for wire-level tests of the scorer deployment: one function with its
 * configuration, published versions and aliases, spoken to by the real SDK client (REST-JSON, `endpoint`
 * override). Every call is first put to the caller's role policy: a call it does not allow answers 403
 * AccessDeniedException, as Lambda does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RolePolicy } from './iam-policy';

/** The function's state, as the stand-in keeps it. */
export interface LambdaFunctionState {
  readonly name: string;
  readonly arn: string;
  environment: Record<string, string>;
  versions: Array<{ version: string; environment: Record<string, string>; description?: string }>;
  aliases: Map<string, { version: string; weights: Record<string, number> }>;
}

/** A running stand-in. */
export interface LambdaStandIn {
  readonly endpoint: string;
  readonly fn: LambdaFunctionState;
  /** Operations in the order they came, with whether the policy allowed them. */
  readonly operations: Array<{ operation: string; allowed: boolean }>;
  close(): Promise<void>;
}

/** Starts a stand-in serving function `name` (alias `live` on version 1) for a caller holding `policy`. */
export async function startLambdaStandIn(name: string, policy: RolePolicy): Promise<LambdaStandIn> {
  const arn = `arn:aws:lambda:eu-west-2:111111111111:function:${name}`;
  const fn: LambdaFunctionState = {
    name,
    arn,
    environment: { CHAMPION_POINTER_URI: 's3://models/champion/loans/champion.json' },
    versions: [{ version: '1', environment: {} }],
    aliases: new Map([['live', { version: '1', weights: {} }]]),
  };
  const operations: LambdaStandIn['operations'] = [];
  const configuration = () => ({
    FunctionName: name,
    FunctionArn: arn,
    Environment: { Variables: fn.environment },
    State: 'Active',
    LastUpdateStatus: 'Successful',
  });
  const aliasBody = (alias: string) => {
    const a = fn.aliases.get(alias)!;
    return {
      AliasArn: `${arn}:${alias}`,
      Name: alias,
      FunctionVersion: a.version,
      RoutingConfig: { AdditionalVersionWeights: a.weights },
    };
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const send = (status: number, body: unknown, errorType?: string) => {
        response.writeHead(status, {
          'content-type': 'application/json',
          'x-amzn-requestid': 'standin',
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        });
        response.end(JSON.stringify(body));
      };
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      const match = /^\/2015-03-31\/functions\/([^/]+)(\/.*)?$/.exec(path);
      const route = `${request.method} ${match?.[2] ?? ''}`;
      const operation = !match
        ? undefined
        : route === 'GET '
          ? 'GetFunction'
          : route === 'GET /configuration'
            ? 'GetFunctionConfiguration'
            : route === 'PUT /configuration'
              ? 'UpdateFunctionConfiguration'
              : route === 'POST /versions'
                ? 'PublishVersion'
                : /^GET \/aliases\/[^/]+$/.test(route)
                  ? 'GetAlias'
                  : /^PUT \/aliases\/[^/]+$/.test(route)
                    ? 'UpdateAlias'
                    : undefined;
      if (!operation)
        return send(404, { Message: `no such route: ${request.method} ${path}` }, 'ResourceNotFoundException');
      if (match![1] !== name && match![1] !== arn)
        return send(404, { Message: `Function not found: ${match![1]}` }, 'ResourceNotFoundException');
      const allowed = policy.allows({ action: `lambda:${operation}`, resource: arn });
      operations.push({ operation, allowed });
      if (!allowed) {
        return send(
          403,
          { Message: `User is not authorized to perform: lambda:${operation} on resource: ${arn}` },
          'AccessDeniedException',
        );
      }
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const alias = match![2]?.startsWith('/aliases/') ? match![2].slice('/aliases/'.length) : '';
      switch (operation) {
        case 'GetFunction':
          return send(200, { Configuration: configuration() });
        case 'GetFunctionConfiguration':
          return send(200, configuration());
        case 'UpdateFunctionConfiguration': {
          const env = (body.Environment as { Variables?: Record<string, string> } | undefined)?.Variables;
          if (env) fn.environment = { ...env };
          return send(200, configuration());
        }
        case 'PublishVersion': {
          const version = String(fn.versions.length + 1);
          fn.versions.push({ version, environment: { ...fn.environment }, description: body.Description as string });
          return send(201, { ...configuration(), Version: version });
        }
        case 'GetAlias':
          if (!fn.aliases.has(alias))
            return send(404, { Message: `alias ${alias} not found` }, 'ResourceNotFoundException');
          return send(200, aliasBody(alias));
        case 'UpdateAlias': {
          const current = fn.aliases.get(alias);
          if (!current) return send(404, { Message: `alias ${alias} not found` }, 'ResourceNotFoundException');
          const weights = (body.RoutingConfig as { AdditionalVersionWeights?: Record<string, number> } | undefined)
            ?.AdditionalVersionWeights;
          for (const version of Object.keys(weights ?? {})) {
            if (!fn.versions.some((v) => v.version === version))
              return send(400, { Message: `version ${version} does not exist` }, 'InvalidParameterValueException');
          }
          fn.aliases.set(alias, {
            version: (body.FunctionVersion as string | undefined) ?? current.version,
            weights: weights ?? current.weights,
          });
          return send(200, aliasBody(alias));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    fn,
    operations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
