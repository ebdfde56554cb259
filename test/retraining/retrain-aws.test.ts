/**
 * `mlp retrain --env ENV` against a deployed environment, with the real AWS SDK talking to a stand-in for
 * CloudFormation and Step Functions on 127.0.0.1: it finds the state machine from the stack output, starts an
 * execution with the manifest it was given, follows the history state by state (each state once, however often
 * it polls) and prints the execution's outcome with its exit code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { cliEnv, jsonLines, MLP } from '../support/cli';

jest.setTimeout(60_000);

interface Execution {
  readonly final: { status: string; output?: unknown; error?: string; cause?: string };
  input?: unknown;
  describes: number;
}

const STATE_MACHINE = 'arn:aws:states:eu-west-2:111111111111:stateMachine:mlp-dev-retraining';
const STATES = ['ValidateManifest', 'Prepare', 'Train', 'Evaluate', 'Register', 'Gate', 'Deploy', 'FinishDeploy'];

/** History events of the states so far: entered and exited for each, ids from 2 (1 is ExecutionStarted). */
function history(states: readonly string[]) {
  const events: Record<string, unknown>[] = [{ id: 1, type: 'ExecutionStarted', timestamp: 1796150000 }];
  states.forEach((name, i) => {
    events.push({
      id: events.length + 1,
      type: 'TaskStateEntered',
      timestamp: 1796150000 + i * 2,
      stateEnteredEventDetails: { name },
    });
    events.push({
      id: events.length + 1,
      type: 'TaskStateExited',
      timestamp: 1796150001 + i * 2,
      stateExitedEventDetails: { name },
    });
  });
  return events;
}

let server: Server;
let endpoint: string;
let execution: Execution;
const calls: string[] = [];
const answers: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      if (!target) {
        // CloudFormation (query protocol): DescribeStacks of dev-Retraining.
        const params = new URLSearchParams(body);
        calls.push(`${params.get('Action')} ${params.get('StackName')}`);
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(
          '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult>' +
            '<Stacks><member><StackName>dev-Retraining</StackName><StackStatus>UPDATE_COMPLETE</StackStatus>' +
            '<CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs><member><OutputKey>StateMachineArn</OutputKey>' +
            `<OutputValue>${STATE_MACHINE}</OutputValue></member></Outputs></member></Stacks></DescribeStacksResult>` +
            '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>',
        );
        return;
      }
      const operation = target.split('.').pop()!;
      const input = JSON.parse(body || '{}') as Record<string, unknown>;
      calls.push(operation);
      const arn = `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:e1`;
      const reply = (value: unknown) => {
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(value));
      };
      if (operation === 'SendTaskSuccess' || operation === 'SendTaskFailure') {
        answers.push({ operation, ...input });
        return reply({});
      }
      if (operation === 'StartExecution') {
        execution.input = JSON.parse(String(input.input));
        return reply({ executionArn: arn, startDate: 1796150000 });
      }
      if (operation === 'DescribeExecution') {
        execution.describes++;
        const running = execution.describes === 1;
        const { status, output, error, cause } = execution.final;
        return reply({
          executionArn: arn,
          stateMachineArn: STATE_MACHINE,
          status: running ? 'RUNNING' : status,
          startDate: 1796150000,
          ...(running
            ? {}
            : { ...(output ? { output: JSON.stringify(output) } : {}), ...(error ? { error, cause } : {}) }),
        });
      }
      if (operation === 'GetExecutionHistory') {
        // Half the states on the first poll, all of them later; two pages each time.
        const events = history(execution.describes <= 1 ? STATES.slice(0, 4) : STATES);
        const page = input.nextToken ? events.slice(5) : events.slice(0, 5);
        return reply({ events: page, ...(input.nextToken ? {} : { nextToken: 'page-2' }) });
      }
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'UnknownOperationException', message: operation }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

/** Runs `mlp ARGS` against the stand-in (async: the stand-in answers in this process). */
function mlpInAws(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = cliEnv({
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
    AWS_ENDPOINT_URL_SFN: endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
  });
  const child = spawn(process.execPath, [MLP, ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((done) => child.on('close', (status) => done({ status, stdout, stderr })));
}
const retrainInAws = (args: string[]) => mlpInAws(['retrain', '--env', 'dev', ...args]);

test('a promoted execution: started with the given manifest, followed state by state, exit 0', async () => {
  execution = {
    describes: 0,
    final: {
      status: 'SUCCEEDED',
      output: {
        registration: { modelPackageArn: 'arn:aws:sagemaker:eu-west-2:111111111111:model-package/mlp-dev-loans/4' },
        evaluation: { candidate: { auc: 0.81, gini: 0.62, ks: 0.5, brier: 0.12, calibrationError: 0.02, rows: 900 } },
        gate: { promote: true, reasons: [] },
        deployed: { modelVersion: 'mlp-dev-loans/4', champion: true },
      },
    },
  };
  const manifest = 'landing/loans/20261201T000000Z-abc/_manifest.json';
  const run = await retrainInAws(['--manifest', manifest, '--json']);
  expect(run.status).toBe(0);
  expect(execution.input).toEqual({ manifestKey: manifest, trigger: 'manual' });
  expect(calls[0]).toBe('DescribeStacks dev-Retraining');
  expect(JSON.parse(run.stdout)).toMatchObject({
    outcome: 'Promoted',
    modelVersion: 'mlp-dev-loans/4',
    environment: 'dev',
    location: 'aws',
    states: STATES.map((state) => ({ state, seconds: 1 })),
  });
  const entered = jsonLines(run.stderr)
    .filter((l) => l.event === 'start')
    .map((l) => l.progress);
  expect(entered).toEqual(STATES);
});

test('a failed execution prints the named error and exits 1', async () => {
  execution = {
    describes: 0,
    final: { status: 'FAILED', error: 'TrainingFailed', cause: 'training job mlp-dev-loans-1 failed: AlgorithmError' },
  };
  calls.length = 0;
  const run = await retrainInAws([]);
  expect(run.status).toBe(1);
  expect(execution.input).toEqual({ trigger: 'manual' });
  expect(JSON.parse(run.stdout)).toMatchObject({
    outcome: 'Failed',
    error: 'TrainingFailed',
    cause: expect.stringContaining('AlgorithmError'),
  });
});

test('mlp approve refuses, before sending anything, a decision without a usable reason or on an environment without approval', async () => {
  const before = calls.length;
  const noReason = await mlpInAws(['approve', 'mlp-prod-loans/3', '--env', 'prod']);
  expect(noReason.status).toBe(2);
  expect(noReason.stderr).toMatch(/--reason/);
  const twoLines = await mlpInAws([
    'approve',
    'mlp-prod-loans/3',
    '--env',
    'prod',
    '--reject',
    '--reason',
    'calibration drifts\nsee RISK-12',
  ]);
  expect(twoLines.status).toBe(2);
  expect(twoLines.stderr).toMatch(/reason must be one line/);
  const dev = await mlpInAws(['approve', 'mlp-dev-loans/3', '--env', 'dev', '--reason', 'fine']);
  expect(dev.status).toBe(2);
  expect(dev.stderr).toMatch(/dev promotes without a human approval/);
  expect(calls.length).toBe(before);
  expect(answers).toHaveLength(0);
});
