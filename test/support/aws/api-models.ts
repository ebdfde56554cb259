/**
 * Requests held to AWS's published API models: botocore (Debian's python3-botocore) ships every service's model
 * and an offline ParamValidator, the check boto3 makes before it sends anything — required members, types,
 * enums, lengths and ranges, unknown members. Each recorded call is validated against its operation's input
 * shape; what comes back is one line per problem, naming the caller and the operation.
 */
import { spawnSync } from 'node:child_process';

/** A request to validate: botocore's service name, the operation, its parameters. */
export interface ModelledRequest {
  readonly caller?: string;
  readonly service: string;
  readonly operation: string;
  readonly params: Record<string, unknown>;
}

const VALIDATE = `
import json, sys
import botocore.session
from botocore.validate import ParamValidator
session = botocore.session.get_session()
models = {}
problems = []
for call in json.load(sys.stdin):
    service = call['service']
    if service not in models:
        models[service] = session.get_service_model(service)
    try:
        shape = models[service].operation_model(call['operation']).input_shape
    except Exception as error:
        problems.append('%s %s.%s: no such operation (%s)' % (call.get('caller', '?'), service, call['operation'], error))
        continue
    report = ParamValidator().validate(call['params'], shape)
    if report.has_errors():
        problems.append('%s %s.%s: %s' % (call.get('caller', '?'), service, call['operation'], report.generate_report()))
print(json.dumps(sorted(set(problems))))
`;

/** Problems botocore finds in the requests (empty: every request is one AWS accepts in shape). */
export function validateRequests(requests: readonly ModelledRequest[]): string[] {
  const run = spawnSync('/usr/bin/python3', ['-c', VALIDATE], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`botocore validation did not run: ${run.stderr || run.error?.message}`);
  return JSON.parse(run.stdout) as string[];
}
