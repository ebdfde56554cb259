/**
 * A wire-level AWS of our own, for tests: one HTTP endpoint on 127.0.0.1 that the real SDK clients reach through
 * `AWS_ENDPOINT_URL`, answering S3, Lambda, SageMaker, SNS, CloudWatch and Step Functions (task tokens) in each
 * service's own protocol. The service is read from the request's SigV4 signature and the caller from its access
 * key: every principal of a synthesized stage (the step functions' roles, the state machine's, the training
 * job's, the agent's) gets its own key, and each call is authorized against that role's policy as synthesized
 * (test/support/iam-policy.ts), with the KMS permissions S3 and SNS ask of their callers. A call the policy does
 * not allow gets the service's AccessDenied. Every call is recorded (caller, operation, parameters), so a test
 * can check least privilege and validate the requests against AWS's API models.
 *
 * Lambda functions run their real handlers in child processes (lambda-container.ts), one per version, with the
 * environment the template gives them; their EMF output becomes CloudWatch metrics. SageMaker training runs the
 * local XGBoost 1.7.4 container (local/local-training.ts) against this S3, as the training job's role.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { approverProblem } from '../../../contracts/registry-fields';
import { runLocalTrainingJob, type TrainingJobRequest } from '../../../local/local-training';
import { type ArtifactStore, ArtifactNotFoundError, parseS3Uri } from '../../../stepfunctions/artifact-store';
import { type IamRequest, managedPolicy, rolePolicy, type RolePolicy } from '../iam-policy';
import type { StageResolver } from './stage-resolver';

/** A principal that calls the world: a role with its policy, or an operator outside the stage (no policy). */
export interface Caller {
  readonly name: string;
  readonly accessKeyId: string;
  readonly policy: RolePolicy | null;
}

/** One recorded call: who made it, which operation, its parameters as the API model names them. */
export interface RecordedCall {
  readonly caller: string;
  /** botocore's service name: s3, lambda, sagemaker, sns, cloudwatch, stepfunctions. */
  readonly service: string;
  readonly operation: string;
  readonly params: Record<string, unknown>;
}

/** A request as a service handler sees it. */
interface WireRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly caller: Caller;
}

interface WireAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** A Lambda function of the stage, with its versions and aliases. */
export interface WorldFunction {
  readonly name: string;
  readonly arn: string;
  readonly role: Caller;
  readonly entry: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  environment: Record<string, string>;
  readonly versions: Map<string, Record<string, string>>;
  readonly aliases: Map<string, { version: string; weights: Record<string, number> }>;
}

/** A registered model package. */
export interface WorldModelPackage {
  readonly arn: string;
  readonly group: string;
  readonly version: number;
  readonly request: Record<string, unknown>;
  status: string;
  description?: string;
  metadata: Record<string, string>;
  readonly createdAt: Date;
}

interface TrainingJob {
  readonly request: TrainingJobRequest & Record<string, unknown>;
  status: 'InProgress' | 'Completed' | 'Failed';
  result?: Record<string, unknown>;
  failureReason?: string;
  readonly createdAt: Date;
}

/** A request a fault predicate may fail: the service, the operation and its parameters. */
export type FaultMatcher = (call: RecordedCall) => boolean;

/** Where an entry's source is, by the function's logical id (the templates carry no source path). */
export type EntryOf = (logicalId: string) => string;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): WireAnswer => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
const xml = (status: number, body: string): WireAnswer => ({
  status,
  headers: { 'content-type': 'text/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>${body}`,
});
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An execution as the world's Step Functions keeps it. */
export interface WorldExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  /** History events, oldest first: `{ id, type, timestamp, …details }` as GetExecutionHistory answers them. */
  readonly events: Record<string, unknown>[];
}

/** The world: its endpoint, principals, state and recorded calls. */
export class AwsWorld {
  readonly calls: RecordedCall[] = [];
  readonly callers = new Map<string, Caller>();
  readonly objects = new Map<string, Buffer>();
  readonly functions = new Map<string, WorldFunction>();
  readonly packages: WorldModelPackage[] = [];
  readonly trainingJobs = new Map<string, TrainingJob>();
  readonly messages: Array<{ topicArn: string; subject?: string; message: string }> = [];
  readonly alarms = new Map<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'>();
  /** Datapoints from EMF: namespace, metric, dimensions, timestamp, value. */
  readonly datapoints: Array<{ ns: string; metric: string; dims: Record<string, string>; at: number; value: number }> =
    [];
  /** Requests answered with a 500 while they match (the SDK retries, then the caller fails). */
  readonly faults: FaultMatcher[] = [];
  /** Requests carried out, then answered with a 500 while they match: a response lost after the write. */
  readonly lostResponses: FaultMatcher[] = [];
  /** Reason the next training job fails with, if set. */
  nextTrainingFailure?: string;
  endpoint = '';
  private server?: Server;
  private readonly containers = new Map<string, Promise<Container>>();
  /** Each bucket's default KMS key, and whether S3 Bucket Keys make the bucket ARN the encryption context. */
  private readonly bucketKeys = new Map<string, { key: string; bucketKey: boolean }>();
  private readonly topicKeys = new Map<string, string>();
  /** Executions the world's Step Functions runs, by ARN: their status and history (DescribeExecution and
   * GetExecutionHistory read them). */
  readonly executions = new Map<string, WorldExecutionRecord>();
  /** Task tokens being waited for, each with its answer. */
  private readonly tokens = new Map<
    string,
    { promise: Promise<unknown>; resolve: (output: unknown) => void; reject: (error: Error) => void }
  >();
  private randomState = 7;

  constructor(
    readonly resolver: StageResolver,
    private readonly entryOf: EntryOf,
    private readonly trainingLogs: string,
  ) {}

  /** Starts the endpoint and loads the stage: roles, buckets and their keys, topics, functions, alarms. */
  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        this.handle(request, Buffer.concat(chunks)).then(
          (answer) => {
            response.writeHead(answer.status, { 'x-amzn-requestid': 'world', ...answer.headers });
            response.end(answer.body ?? '');
          },
          (error: Error) => {
            response.writeHead(500, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ __type: 'InternalFailure', message: error.message }));
          },
        );
      });
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.loadStage();
    return this;
  }

  /** Stops the endpoint and every function container. */
  async close(): Promise<void> {
    for (const container of this.containers.values()) (await container.catch(() => undefined))?.child.kill();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }

  /** Stops a function's containers: its next invocations start fresh ones, with its environment as it is now. */
  restartContainers(functionName: string): void {
    for (const [key, container] of this.containers) {
      if (!key.startsWith(`${functionName}:`)) continue;
      this.containers.delete(key);
      void container.then(
        (c) => c.child.kill(),
        () => undefined,
      );
    }
  }

  /** Registers a principal; `policy` null is an operator outside the stage, allowed everything. */
  caller(name: string, policy: RolePolicy | null): Caller {
    const existing = [...this.callers.values()].find((c) => c.name === name);
    if (existing) return existing;
    const caller = { name, accessKeyId: `AKIAWORLD${String(this.callers.size).padStart(4, '0')}`, policy };
    this.callers.set(caller.accessKeyId, caller);
    return caller;
  }

  /** The caller of a role (by logical id) of a stack of the stage, registered on first use. */
  roleCaller(stackName: string, roleId: string): Caller {
    const existing = [...this.callers.values()].find((c) => c.name === roleId);
    if (existing) return existing;
    const policy = rolePolicy(this.resolver.template(stackName), roleId, (v) => this.resolver.string(v, stackName));
    return this.caller(roleId, policy);
  }

  /** The ARN STS gives `caller`: an assumed role's session. */
  callerArn(caller: Caller): string {
    return `arn:aws:sts::${this.resolver.account}:assumed-role/${caller.name}/world-session`;
  }

  /** A person outside the stage holding a managed policy of it (by logical id), registered on first use. */
  policyCaller(name: string, stackName: string, policyId: string): Caller {
    const existing = [...this.callers.values()].find((c) => c.name === name);
    if (existing) return existing;
    const policy = managedPolicy(this.resolver.template(stackName), policyId, (v) =>
      this.resolver.string(v, stackName),
    );
    return this.caller(name, policy);
  }

  /** SDK client settings that make `caller` the one calling. */
  clientConfig(caller: Caller) {
    return {
      region: this.resolver.region,
      endpoint: this.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: caller.accessKeyId, secretAccessKey: 'world-secret' },
      maxAttempts: 2,
    };
  }

  /** Environment variables that point an SDK at the world as `caller`. */
  sdkEnvironment(caller: Caller): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_REGION: this.resolver.region,
      AWS_DEFAULT_REGION: this.resolver.region,
      AWS_ACCESS_KEY_ID: caller.accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'world-secret',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_MAX_ATTEMPTS: '3',
    };
  }

  /** A deterministic choice in [0, 1): which version an alias routes an invocation to. */
  random(): number {
    this.randomState = (this.randomState * 1103515245 + 12345) % 2147483648;
    return this.randomState / 2147483648;
  }

  /** Resolves when `SendTaskSuccess` answers `token` (with its output), rejects on `SendTaskFailure`. */
  waitForTaskToken(token: string): Promise<unknown> {
    const waiting = this.tokens.get(token);
    if (waiting) return waiting.promise;
    let answers!: { resolve: (output: unknown) => void; reject: (error: Error) => void };
    const promise = new Promise<unknown>((resolve, reject) => (answers = { resolve, reject }));
    this.tokens.set(token, { promise, ...answers });
    return promise;
  }

  /** An S3 object's bytes (`s3://bucket/key`), or undefined. */
  object(uri: string): Buffer | undefined {
    const { bucket, key } = parseS3Uri(uri);
    return this.objects.get(`${bucket}/${key}`);
  }

  /** An artifact store over this S3 that acts as `caller` (the training job's role), checked as S3 would. */
  storeFor(caller: Caller): ArtifactStore {
    const check = (action: string, bucket: string, key: string) => {
      if (!this.allows(caller, { action, resource: `arn:aws:s3:::${bucket}/${key}` }))
        throw new Error(`AccessDenied: ${caller.name} may not ${action} s3://${bucket}/${key}`);
      const kmsAction = action === 's3:PutObject' ? 'kms:GenerateDataKey' : 'kms:Decrypt';
      if (!this.objectKeyAllows(caller, bucket, key, kmsAction))
        throw new Error(`AccessDenied: ${caller.name} may not ${kmsAction} the key of ${bucket}`);
    };
    return {
      get: async (uri) => {
        const { bucket, key } = parseS3Uri(uri);
        check('s3:GetObject', bucket, key);
        const body = this.objects.get(`${bucket}/${key}`);
        if (!body) throw new ArtifactNotFoundError(uri);
        return new Uint8Array(body);
      },
      put: async (uri, body) => {
        const { bucket, key } = parseS3Uri(uri);
        check('s3:PutObject', bucket, key);
        this.objects.set(`${bucket}/${key}`, Buffer.from(body));
      },
      exists: async (uri) => this.object(uri) !== undefined,
      delete: async () => {
        throw new Error('a training job deletes nothing');
      },
      download: async () => {
        throw new Error('a training job streams nothing to files here');
      },
      upload: async () => {
        throw new Error('a training job streams nothing from files here');
      },
      list: async (prefixUri) => {
        const { bucket, key } = parseS3Uri(prefixUri);
        const listing = { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: { 's3:prefix': key } };
        if (!this.allows(caller, listing))
          throw new Error(`AccessDenied: ${caller.name} may not list ${bucket}/${key}`);
        return [...this.objects.keys()]
          .filter((k) => k.startsWith(`${bucket}/${key}`))
          .map((k) => `s3://${k}`)
          .sort();
      },
    };
  }

  private loadStage(): void {
    const stage = this.resolver.stage;
    const buckets = [stage.data, stage.audit].flatMap((stack) =>
      Object.entries(this.resolver.resources(stack.stackName, 'AWS::S3::Bucket')).map(
        ([id, props]) => [id, props, stack.stackName] as const,
      ),
    );
    for (const [id, props, stackName] of buckets) {
      const name = this.resolver.string({ Ref: id }, stackName);
      const rule = (
        props.BucketEncryption as {
          ServerSideEncryptionConfiguration?: {
            ServerSideEncryptionByDefault?: { KMSMasterKeyID?: unknown };
            BucketKeyEnabled?: boolean;
          }[];
        }
      )?.ServerSideEncryptionConfiguration?.[0];
      const key = rule?.ServerSideEncryptionByDefault?.KMSMasterKeyID;
      if (key)
        this.bucketKeys.set(name, {
          key: this.resolver.string(key, stackName),
          bucketKey: rule.BucketKeyEnabled === true,
        });
    }
    for (const [id, props] of Object.entries(this.resolver.resources(stage.alerts.stackName, 'AWS::SNS::Topic'))) {
      const arn = this.resolver.string({ Ref: id }, stage.alerts.stackName);
      if (props.KmsMasterKeyId)
        this.topicKeys.set(arn, this.resolver.string(props.KmsMasterKeyId, stage.alerts.stackName));
    }
    for (const stack of [stage.serving, stage.retraining]) {
      for (const [id, props] of Object.entries(this.resolver.resources(stack.stackName, 'AWS::Lambda::Function'))) {
        const roleId = (props.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
        const role = this.roleCaller(stack.stackName, roleId);
        const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
        const environment = Object.fromEntries(
          Object.entries(variables).map(([k, v]) => [k, this.resolver.string(v, stack.stackName)]),
        );
        const name = this.resolver.string({ Ref: id }, stack.stackName);
        const fn: WorldFunction = {
          name,
          arn: this.resolver.string({ 'Fn::GetAtt': [id, 'Arn'] }, stack.stackName),
          role,
          entry: this.entryOf(id),
          handler: String(props.Handler).replace(/^index\./, ''),
          timeoutSeconds: Number(props.Timeout ?? 3),
          environment,
          versions: new Map(),
          aliases: new Map(),
        };
        this.functions.set(name, fn);
        for (const version of Object.values(this.resolver.resources(stack.stackName, 'AWS::Lambda::Version'))) {
          if (this.resolver.string(version.FunctionName, stack.stackName) === name)
            fn.versions.set(String(fn.versions.size + 1), { ...environment });
        }
        for (const alias of Object.values(this.resolver.resources(stack.stackName, 'AWS::Lambda::Alias'))) {
          if (this.resolver.string(alias.FunctionName, stack.stackName) !== name) continue;
          const version = this.resolver.string(alias.FunctionVersion, stack.stackName);
          fn.aliases.set(String(alias.Name), { version, weights: {} });
        }
      }
      for (const id of Object.keys(this.resolver.resources(stack.stackName, 'AWS::CloudWatch::Alarm')))
        this.alarms.set(this.resolver.string({ Ref: id }, stack.stackName), 'OK');
    }
  }

  /** Whether `caller` may make the request; an operator may make any. */
  private allows(caller: Caller, request: IamRequest, record = true): boolean {
    return caller.policy === null || caller.policy.allows(request, record);
  }

  /** What a service asks of its caller's KMS permissions for an encrypted topic (kms:ViaService). */
  private keyAllows(caller: Caller, keyArn: string | undefined, action: string, service: string): boolean {
    if (!keyArn) return true;
    return this.allows(caller, {
      action,
      resource: keyArn,
      context: { 'kms:ViaService': `${service}.${this.resolver.region}.amazonaws.com` },
    });
  }

  /**
   * What S3 asks of its caller's KMS permissions for an object of an encrypted bucket: the call comes via S3,
   * with the bucket's ARN as encryption context when S3 Bucket Keys are on (the object's ARN otherwise).
   */
  private objectKeyAllows(caller: Caller, bucket: string, key: string, action: string): boolean {
    const encryption = this.bucketKeys.get(bucket);
    if (!encryption) return true;
    return this.allows(caller, {
      action,
      resource: encryption.key,
      context: {
        'kms:ViaService': `s3.${this.resolver.region}.amazonaws.com`,
        'kms:EncryptionContext:aws:s3:arn': encryption.bucketKey
          ? `arn:aws:s3:::${bucket}`
          : `arn:aws:s3:::${bucket}/${key}`,
      },
    });
  }

  private async handle(request: IncomingMessage, body: Buffer): Promise<WireAnswer> {
    const authorization = String(request.headers.authorization ?? '');
    const credential = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(authorization);
    const caller = credential ? this.callers.get(credential[1]) : undefined;
    if (!credential || !caller) return json(403, { __type: 'UnrecognizedClientException', message: 'unknown key' });
    const url = new URL(request.url ?? '/', 'http://world');
    const wire: WireRequest = {
      method: request.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: request.headers,
      body,
      caller,
    };
    const recorded = this.calls.length;
    const answer = await this.serve(credential[2], wire);
    const call = this.calls[recorded];
    if (call && answer.status < 300 && this.lostResponses.some((lost) => lost(call)))
      return json(500, { __type: 'InternalFailure', message: 'injected: the response was lost' });
    return answer;
  }

  private async serve(service: string, wire: WireRequest): Promise<WireAnswer> {
    switch (service) {
      case 's3':
        return this.s3(wire);
      case 'lambda':
        return this.lambda(wire);
      case 'sagemaker':
        return this.sagemaker(wire);
      case 'sns':
        return this.sns(wire);
      case 'monitoring':
        return this.cloudwatch(wire);
      case 'states':
        return this.stepFunctions(wire);
      case 'sts':
        return this.sts(wire);
      case 'cloudformation':
        return this.cloudFormation(wire);
      default:
        return json(400, { __type: 'UnknownService', message: `the world has no ${service}` });
    }
  }

  /** Records a call; answers true when a fault matches it. */
  private record(caller: Caller, service: string, operation: string, params: Record<string, unknown>): boolean {
    const call = { caller: caller.name, service, operation, params };
    this.calls.push(call);
    return this.faults.some((fault) => fault(call));
  }

  // --- S3 (REST-XML, path-style) --------------------------------------------------------------------------

  private s3(req: WireRequest): WireAnswer {
    const [, bucket = '', ...rest] = req.path.split('/');
    const key = rest.join('/');
    const denied = () => xml(403, '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
    const head = req.method === 'HEAD';
    if (req.method === 'GET' && !key && req.query.get('list-type') === '2') {
      const prefix = req.query.get('prefix') ?? '';
      const params = {
        Bucket: bucket,
        Prefix: prefix,
        ...(req.query.get('max-keys') ? { MaxKeys: Number(req.query.get('max-keys')) } : {}),
      };
      if (this.record(req.caller, 's3', 'ListObjectsV2', params))
        return xml(500, '<Error><Code>InternalError</Code></Error>');
      if (
        !this.allows(req.caller, {
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${bucket}`,
          context: { 's3:prefix': prefix },
        })
      )
        return denied();
      const max = Number(req.query.get('max-keys') ?? 1000);
      const keys = [...this.objects.keys()]
        .filter((k) => k.startsWith(`${bucket}/${prefix}`))
        .map((k) => k.slice(bucket.length + 1))
        .sort()
        .slice(0, max);
      const contents = keys
        .map(
          (k) =>
            `<Contents><Key>${escapeXml(k)}</Key><Size>${this.objects.get(`${bucket}/${k}`)!.length}</Size></Contents>`,
        )
        .join('');
      return xml(
        200,
        `<ListBucketResult><Name>${bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount>` +
          `<IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
      );
    }
    const operation =
      req.method === 'PUT' ? 'PutObject' : req.method === 'DELETE' ? 'DeleteObject' : head ? 'HeadObject' : 'GetObject';
    const params: Record<string, unknown> = { Bucket: bucket, Key: key };
    if (operation === 'PutObject') {
      params.Body = req.body.toString('utf8');
      if (req.headers['x-amz-checksum-sha256']) params.ChecksumSHA256 = String(req.headers['x-amz-checksum-sha256']);
    }
    if (this.record(req.caller, 's3', operation, params)) return xml(500, '<Error><Code>InternalError</Code></Error>');
    const action = {
      PutObject: 's3:PutObject',
      DeleteObject: 's3:DeleteObject',
      HeadObject: 's3:GetObject',
      GetObject: 's3:GetObject',
    }[operation];
    // A conditional create (If-None-Match: *) is visible to IAM as s3:if-none-match.
    const ifNoneMatch = operation === 'PutObject' ? (req.headers['if-none-match'] as string | undefined) : undefined;
    const context = ifNoneMatch !== undefined ? { 's3:if-none-match': ifNoneMatch } : undefined;
    if (
      !this.allows(req.caller, { action, resource: `arn:aws:s3:::${bucket}/${key}`, ...(context ? { context } : {}) })
    )
      return denied();
    const existing = this.objects.get(`${bucket}/${key}`);
    switch (operation) {
      case 'PutObject':
        if (!this.objectKeyAllows(req.caller, bucket, key, 'kms:GenerateDataKey')) return denied();
        if (ifNoneMatch === '*' && existing) {
          return xml(
            412,
            '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
          );
        }
        this.objects.set(`${bucket}/${key}`, req.body);
        return { status: 200, headers: { etag: '"world"' } };
      case 'DeleteObject':
        this.objects.delete(`${bucket}/${key}`);
        return { status: 204 };
      default: {
        if (!existing) {
          // S3 asks itself (no call is made) whether the caller may know that the key is absent.
          const mayList = this.allows(
            req.caller,
            { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` },
            false,
          );
          if (!mayList) return head ? { status: 403 } : denied();
          return head
            ? { status: 404 }
            : xml(404, '<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>');
        }
        if (!head && !this.objectKeyAllows(req.caller, bucket, key, 'kms:Decrypt')) return denied();
        return {
          status: 200,
          headers: { 'content-length': String(existing.length) },
          body: head ? undefined : existing,
        };
      }
    }
  }

  // --- Lambda (REST-JSON) -----------------------------------------------------------------------------------

  private async lambda(req: WireRequest): Promise<WireAnswer> {
    const match = /^\/2015-03-31\/functions\/([^/]+)(\/.*)?$/.exec(req.path);
    const error = (status: number, type: string, message: string) =>
      json(status, { Type: 'User', Message: message, message }, { 'x-amzn-errortype': type });
    if (!match) return error(404, 'ResourceNotFoundException', `no route ${req.method} ${req.path}`);
    const [nameOrArn, qualifierInArn] = match[1].startsWith('arn:')
      ? [match[1].split(':')[6], match[1].split(':')[7]]
      : [match[1], undefined];
    const fn = this.functions.get(nameOrArn);
    if (!fn) return error(404, 'ResourceNotFoundException', `Function not found: ${match[1]}`);
    const route = `${req.method} ${match[2] ?? ''}`;
    const aliasName = match[2]?.startsWith('/aliases/') ? match[2].slice('/aliases/'.length) : '';
    const operation =
      route === 'GET '
        ? 'GetFunction'
        : route === 'GET /configuration'
          ? 'GetFunctionConfiguration'
          : route === 'PUT /configuration'
            ? 'UpdateFunctionConfiguration'
            : route === 'POST /versions'
              ? 'PublishVersion'
              : route === 'POST /invocations'
                ? 'Invoke'
                : aliasName && req.method === 'GET'
                  ? 'GetAlias'
                  : aliasName && req.method === 'PUT'
                    ? 'UpdateAlias'
                    : undefined;
    if (!operation) return error(404, 'ResourceNotFoundException', `no route ${route}`);
    const body =
      req.body.length && operation !== 'Invoke'
        ? (JSON.parse(req.body.toString('utf8')) as Record<string, unknown>)
        : {};
    const qualifier = qualifierInArn ?? req.query.get('Qualifier') ?? undefined;
    const params: Record<string, unknown> = {
      FunctionName: match[1],
      ...(aliasName ? { Name: aliasName } : {}),
      ...(operation === 'Invoke'
        ? { Payload: req.body.toString('utf8'), ...(qualifier ? { Qualifier: qualifier } : {}) }
        : body),
    };
    if (this.record(req.caller, 'lambda', operation, params)) return error(500, 'ServiceException', 'injected fault');
    const resource =
      operation === 'Invoke' && qualifier ? `${fn.arn}:${qualifier}` : aliasName ? `${fn.arn}:${aliasName}` : fn.arn;
    const action = operation === 'Invoke' ? 'lambda:InvokeFunction' : `lambda:${operation}`;
    if (!this.allows(req.caller, { action, resource }))
      return error(
        403,
        'AccessDeniedException',
        `User: ${req.caller.name} is not authorized to perform: ${action} on resource: ${resource}`,
      );
    const configuration = () => ({
      FunctionName: fn.name,
      FunctionArn: fn.arn,
      Environment: { Variables: fn.environment },
      State: 'Active',
      LastUpdateStatus: 'Successful',
    });
    const aliasBody = (name: string) => {
      const a = fn.aliases.get(name)!;
      return {
        AliasArn: `${fn.arn}:${name}`,
        Name: name,
        FunctionVersion: a.version,
        RoutingConfig: { AdditionalVersionWeights: a.weights },
      };
    };
    switch (operation) {
      case 'GetFunction':
        return json(200, { Configuration: configuration() });
      case 'GetFunctionConfiguration':
        return json(200, configuration());
      case 'UpdateFunctionConfiguration': {
        const variables = (body.Environment as { Variables?: Record<string, string> } | undefined)?.Variables;
        if (variables) fn.environment = { ...variables };
        return json(200, configuration());
      }
      case 'PublishVersion': {
        const version = String(fn.versions.size + 1);
        fn.versions.set(version, { ...fn.environment });
        return json(201, { ...configuration(), Version: version, Description: body.Description });
      }
      case 'GetAlias':
        if (!fn.aliases.has(aliasName)) return error(404, 'ResourceNotFoundException', `alias ${aliasName} not found`);
        return json(200, aliasBody(aliasName));
      case 'UpdateAlias': {
        const current = fn.aliases.get(aliasName);
        if (!current) return error(404, 'ResourceNotFoundException', `alias ${aliasName} not found`);
        const weights = (body.RoutingConfig as { AdditionalVersionWeights?: Record<string, number> } | undefined)
          ?.AdditionalVersionWeights;
        const version = (body.FunctionVersion as string | undefined) ?? current.version;
        for (const v of [version, ...Object.keys(weights ?? {})])
          if (!fn.versions.has(v)) return error(400, 'InvalidParameterValueException', `version ${v} does not exist`);
        fn.aliases.set(aliasName, { version, weights: weights ?? current.weights });
        return json(200, aliasBody(aliasName));
      }
      default:
        return this.invoke(fn, qualifier, req.body);
    }
  }

  /** Which version an invocation runs: a version number, `$LATEST`, or an alias's weighted choice. */
  private versionOf(fn: WorldFunction, qualifier: string | undefined): string {
    if (!qualifier || qualifier === '$LATEST') return '$LATEST';
    if (fn.versions.has(qualifier)) return qualifier;
    const alias = fn.aliases.get(qualifier);
    if (!alias) throw new Error(`${fn.name} has no version or alias ${qualifier}`);
    let draw = this.random();
    for (const [version, weight] of Object.entries(alias.weights)) {
      if (draw < weight) return version;
      draw -= weight;
    }
    return alias.version;
  }

  private async invoke(fn: WorldFunction, qualifier: string | undefined, payload: Buffer): Promise<WireAnswer> {
    const version = this.versionOf(fn, qualifier);
    const context = {
      awsRequestId: `req-${this.calls.length}`,
      functionName: fn.name,
      functionVersion: version,
      invokedFunctionArn: qualifier ? `${fn.arn}:${qualifier}` : fn.arn,
      memoryLimitInMB: '1024',
      callbackWaitsForEmptyEventLoop: false,
    };
    // A container that cannot start answers every invocation with the runtime's error, as Lambda does.
    const answer = await this.container(fn, version).then(
      (container) => container.invoke(JSON.parse(payload.toString('utf8') || '{}'), context),
      (error: Error) => ({ error: { errorType: 'Runtime.ExitError', errorMessage: error.message } }),
    );
    // Lambda's own metrics of an alias: Invocations and Errors under the version that ran.
    if (qualifier && fn.aliases.has(qualifier)) {
      const dims = { FunctionName: fn.name, Resource: `${fn.name}:${qualifier}`, ExecutedVersion: version };
      const at = Date.now();
      this.datapoints.push({ ns: 'AWS/Lambda', metric: 'Invocations', dims, at, value: 1 });
      this.datapoints.push({ ns: 'AWS/Lambda', metric: 'Errors', dims, at, value: 'error' in answer ? 1 : 0 });
    }
    const headers = { 'x-amz-executed-version': version };
    if ('error' in answer) return json(200, answer.error, { ...headers, 'x-amz-function-error': 'Unhandled' });
    return json(200, answer.result, headers);
  }

  private container(fn: WorldFunction, version: string): Promise<Container> {
    const key = `${fn.name}:${version}`;
    let container = this.containers.get(key);
    if (!container) {
      const environment = version === '$LATEST' ? fn.environment : fn.versions.get(version)!;
      container = startContainer(
        fn,
        version,
        {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          ...environment,
          ...this.sdkEnvironment(fn.role),
          AWS_LAMBDA_FUNCTION_NAME: fn.name,
          AWS_LAMBDA_FUNCTION_VERSION: version,
          MLP_ENTRY: fn.entry,
          MLP_HANDLER: fn.handler,
          MLP_TIMEOUT_MS: String(fn.timeoutSeconds * 1000),
        },
        (line) => this.ingestLogLine(line),
      );
      this.containers.set(key, container);
    }
    return container;
  }

  /** An EMF line of a function's output becomes datapoints (every dimension set of every metric). */
  private ingestLogLine(line: string): void {
    if (!line.startsWith('{') || !line.includes('"_aws"')) return;
    const emf = JSON.parse(line) as Record<string, unknown> & {
      _aws: {
        Timestamp: number;
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    for (const directive of emf._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        const dims = Object.fromEntries(set.map((d) => [d, String(emf[d])]));
        for (const { Name } of directive.Metrics) {
          for (const value of [emf[Name]].flat() as number[])
            this.datapoints.push({ ns: directive.Namespace, metric: Name, dims, at: emf._aws.Timestamp, value });
        }
      }
    }
  }

  // --- SageMaker (JSON 1.1) ----------------------------------------------------------------------------------

  private sagemaker(req: WireRequest): WireAnswer {
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^SageMaker\./, '');
    const params = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
    const error = (status: number, type: string, message: string) => json(status, { __type: type, Message: message });
    if (this.record(req.caller, 'sagemaker', operation, params)) return error(500, 'InternalFailure', 'injected fault');
    const arn = (resource: string) => `arn:aws:sagemaker:${this.resolver.region}:${this.resolver.account}:${resource}`;
    const authorize = (action: string, resource: string, context?: Record<string, string>) =>
      this.allows(req.caller, { action: `sagemaker:${action}`, resource, context });
    const deniedFor = (action: string, resource: string) =>
      error(
        400,
        'AccessDeniedException',
        `${req.caller.name} is not authorized to perform: sagemaker:${action} on resource: ${resource}`,
      );
    const metadataProblem = (metadata: unknown) =>
      Object.entries((metadata ?? {}) as Record<string, string>)
        .map(([k, v]) => approverProblem(v) && `CustomerMetadataProperties.${k}: ${approverProblem(v)}`)
        .find(Boolean);
    switch (operation) {
      case 'CreateTrainingJob': {
        const name = String(params.TrainingJobName);
        const jobArn = arn(`training-job/${name.toLowerCase()}`);
        if (!authorize('CreateTrainingJob', jobArn)) return deniedFor('CreateTrainingJob', jobArn);
        if (params.Tags && !authorize('AddTags', jobArn)) return deniedFor('AddTags', jobArn);
        const roleArn = String(params.RoleArn);
        if (
          !this.allows(req.caller, {
            action: 'iam:PassRole',
            resource: roleArn,
            context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
          })
        )
          return deniedFor('CreateTrainingJob (iam:PassRole)', roleArn);
        if (this.trainingJobs.has(name)) return error(400, 'ResourceInUse', `training job ${name} exists`);
        if ((params.AlgorithmSpecification as { MetricDefinitions?: unknown[] }).MetricDefinitions?.length)
          return error(
            400,
            'ValidationException',
            "You can't override the metric definitions for Amazon SageMaker algorithms.",
          );
        const job: TrainingJob = {
          request: params as TrainingJob['request'],
          status: 'InProgress',
          createdAt: new Date(),
        };
        this.trainingJobs.set(name, job);
        const role = [...this.callers.values()].find((c) => roleArn.endsWith(`/${c.name}`));
        if (!role) return error(400, 'ValidationException', `${roleArn} is not a role of the stage`);
        void this.train(job, role);
        return json(200, { TrainingJobArn: jobArn });
      }
      case 'DescribeTrainingJob': {
        const name = String(params.TrainingJobName);
        const jobArn = arn(`training-job/${name.toLowerCase()}`);
        if (!authorize('DescribeTrainingJob', jobArn)) return deniedFor('DescribeTrainingJob', jobArn);
        const job = this.trainingJobs.get(name);
        if (!job) return error(400, 'ValidationException', `Requested resource not found: ${name}`);
        return json(200, {
          ...job.request,
          ...job.result,
          TrainingJobName: name,
          TrainingJobArn: jobArn,
          TrainingJobStatus: job.status,
          SecondaryStatus: job.status === 'InProgress' ? 'Training' : job.status,
          CreationTime: job.createdAt.getTime() / 1000,
          ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
        });
      }
      case 'CreateModelPackage': {
        const group = String(params.ModelPackageGroupName);
        const version = this.packages.filter((p) => p.group === group).length + 1;
        const packageArn = arn(`model-package/${group}/${version}`);
        if (!authorize('CreateModelPackage', packageArn)) return deniedFor('CreateModelPackage', packageArn);
        const problem = metadataProblem(params.CustomerMetadataProperties);
        if (problem) return error(400, 'ValidationException', problem);
        this.packages.push({
          arn: packageArn,
          group,
          version,
          request: params,
          status: String(params.ModelApprovalStatus ?? 'PendingManualApproval'),
          metadata: { ...((params.CustomerMetadataProperties ?? {}) as Record<string, string>) },
          createdAt: new Date(),
        });
        return json(200, { ModelPackageArn: packageArn });
      }
      case 'DescribeModelPackage': {
        const packageArn = String(params.ModelPackageName);
        if (!authorize('DescribeModelPackage', packageArn)) return deniedFor('DescribeModelPackage', packageArn);
        const target = this.packages.find((p) => p.arn === packageArn);
        if (!target) return error(400, 'ValidationException', `model package ${packageArn} does not exist`);
        const request = target.request as { InferenceSpecification?: unknown };
        return json(200, {
          ModelPackageArn: target.arn,
          ModelPackageGroupName: target.group,
          ModelPackageVersion: target.version,
          ModelPackageName: target.group,
          ModelPackageStatus: 'Completed',
          CreationTime: target.createdAt.getTime() / 1000,
          ModelApprovalStatus: target.status,
          ...(target.description !== undefined ? { ApprovalDescription: target.description } : {}),
          InferenceSpecification: request.InferenceSpecification,
          CustomerMetadataProperties: target.metadata,
        });
      }
      case 'ListModelPackages': {
        // No resource: it lists what the caller may then describe. Pages of MaxResults (10 unless given).
        if (!authorize('ListModelPackages', '*')) return deniedFor('ListModelPackages', '*');
        const group = params.ModelPackageGroupName as string | undefined;
        const all = this.packages.filter((p) => group === undefined || p.group === group);
        const size = Math.min(Number(params.MaxResults ?? 10), 100);
        const start = params.NextToken === undefined ? 0 : Number(params.NextToken);
        if (!Number.isInteger(start) || start < 0 || start > all.length)
          return error(400, 'ValidationException', 'invalid NextToken');
        const page = all.slice(start, start + size);
        return json(200, {
          ModelPackageSummaryList: page.map((p) => ({
            ModelPackageName: p.group,
            ModelPackageGroupName: p.group,
            ModelPackageVersion: p.version,
            ModelPackageArn: p.arn,
            CreationTime: p.createdAt.getTime() / 1000,
            ModelPackageStatus: 'Completed',
            ModelApprovalStatus: p.status,
          })),
          ...(start + size < all.length ? { NextToken: String(start + size) } : {}),
        });
      }
      case 'UpdateModelPackage': {
        const target = this.packages.find((p) => p.arn === params.ModelPackageArn);
        const packageArn = String(params.ModelPackageArn);
        if (!authorize('UpdateModelPackage', packageArn)) return deniedFor('UpdateModelPackage', packageArn);
        if (!target) return error(400, 'ValidationException', `model package ${packageArn} does not exist`);
        const problem = metadataProblem(params.CustomerMetadataProperties);
        if (problem) return error(400, 'ValidationException', problem);
        if (typeof params.ApprovalDescription === 'string' && params.ApprovalDescription.length > 1024)
          return error(400, 'ValidationException', 'ApprovalDescription is longer than 1024');
        if (params.ModelApprovalStatus) target.status = String(params.ModelApprovalStatus);
        if (params.ApprovalDescription !== undefined) target.description = String(params.ApprovalDescription);
        Object.assign(target.metadata, params.CustomerMetadataProperties ?? {});
        return json(200, { ModelPackageArn: packageArn });
      }
      default:
        return error(400, 'UnknownOperationException', `the world's SageMaker has no ${operation}`);
    }
  }

  private async train(job: TrainingJob, role: Caller): Promise<void> {
    try {
      if (this.nextTrainingFailure) {
        const reason = this.nextTrainingFailure;
        this.nextTrainingFailure = undefined;
        throw new Error(reason);
      }
      job.result = await runLocalTrainingJob(job.request, this.storeFor(role), this.trainingLogs);
      delete job.result.TrainingJobArn;
      job.status = 'Completed';
    } catch (error) {
      job.status = 'Failed';
      job.failureReason = (error as Error).message;
    }
  }

  // --- SNS (query) --------------------------------------------------------------------------------------------

  private sns(req: WireRequest): WireAnswer {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const operation = form.get('Action') ?? '';
    const params: Record<string, unknown> = {};
    for (const [k, v] of form) if (k !== 'Action' && k !== 'Version') params[k] = v;
    const error = (status: number, code: string, message: string) =>
      xml(
        status,
        `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></ErrorResponse>`,
      );
    if (this.record(req.caller, 'sns', operation, params)) return error(500, 'InternalError', 'injected fault');
    if (operation !== 'Publish') return error(400, 'InvalidAction', `the world's SNS has no ${operation}`);
    const topicArn = String(params.TopicArn);
    if (!this.allows(req.caller, { action: 'sns:Publish', resource: topicArn }))
      return error(
        403,
        'AuthorizationError',
        `${req.caller.name} is not authorized to perform: SNS:Publish on resource: ${topicArn}`,
      );
    const key = this.topicKeys.get(topicArn);
    if (
      !this.keyAllows(req.caller, key, 'kms:GenerateDataKey', 'sns') ||
      !this.keyAllows(req.caller, key, 'kms:Decrypt', 'sns')
    )
      return error(400, 'KMSAccessDenied', `${req.caller.name} may not use the key of ${topicArn}`);
    this.messages.push({ topicArn, subject: params.Subject as string | undefined, message: String(params.Message) });
    return xml(
      200,
      `<PublishResponse><PublishResult><MessageId>m-${this.messages.length}</MessageId></PublishResult></PublishResponse>`,
    );
  }

  // --- CloudWatch (JSON 1.0) ----------------------------------------------------------------------------------

  private cloudwatch(req: WireRequest): WireAnswer {
    const operation =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    const params = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
    const error = (status: number, type: string, message: string) => json(status, { __type: type, message });
    if (this.record(req.caller, 'cloudwatch', operation, params))
      return error(500, 'InternalServiceFault', 'injected fault');
    const alarmArn = (name: string) =>
      `arn:aws:cloudwatch:${this.resolver.region}:${this.resolver.account}:alarm:${name}`;
    switch (operation) {
      case 'DescribeAlarms': {
        const names = (params.AlarmNames as string[] | undefined) ?? [...this.alarms.keys()];
        for (const name of names)
          if (!this.allows(req.caller, { action: 'cloudwatch:DescribeAlarms', resource: alarmArn(name) }))
            return error(
              403,
              'AccessDenied',
              `not authorized to perform: cloudwatch:DescribeAlarms on ${alarmArn(name)}`,
            );
        const alarms = names
          .filter((name) => this.alarms.has(name))
          .filter((name) => !params.StateValue || this.alarms.get(name) === params.StateValue)
          .map((name) => ({ AlarmName: name, AlarmArn: alarmArn(name), StateValue: this.alarms.get(name) }));
        return json(200, { MetricAlarms: alarms });
      }
      case 'GetMetricData': {
        if (!this.allows(req.caller, { action: 'cloudwatch:GetMetricData', resource: '*' }))
          return error(403, 'AccessDenied', 'not authorized to perform: cloudwatch:GetMetricData');
        const start = Number(params.StartTime) * 1000;
        const end = Number(params.EndTime) * 1000;
        const results = (
          params.MetricDataQueries as {
            Id: string;
            MetricStat: {
              Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] };
              Period: number;
              Stat: string;
            };
          }[]
        ).map((q) => {
          const { Metric, Period, Stat } = q.MetricStat;
          if (Stat !== 'Sum') throw new Error(`the world's CloudWatch sums only (asked ${Stat})`);
          const dims = Object.fromEntries((Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
          const buckets = new Map<number, number>();
          for (const p of this.datapoints) {
            const sameDims =
              Object.keys(p.dims).length === Object.keys(dims).length &&
              Object.entries(dims).every(([k, v]) => p.dims[k] === v);
            if (p.ns !== Metric.Namespace || p.metric !== Metric.MetricName || !sameDims || p.at < start || p.at >= end)
              continue;
            const bucket = Math.floor(p.at / (Period * 1000)) * Period;
            buckets.set(bucket, (buckets.get(bucket) ?? 0) + p.value);
          }
          const times = [...buckets.keys()].sort((a, b) => b - a);
          return {
            Id: q.Id,
            Label: Metric.MetricName,
            Timestamps: times,
            Values: times.map((t) => buckets.get(t)!),
            StatusCode: 'Complete',
          };
        });
        return json(200, { MetricDataResults: results });
      }
      default:
        return error(400, 'UnknownOperationException', `the world's CloudWatch has no ${operation}`);
    }
  }

  // --- STS and CloudFormation (query) -------------------------------------------------------------------------

  private sts(req: WireRequest): WireAnswer {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const operation = form.get('Action') ?? '';
    this.record(req.caller, 'sts', operation, {});
    if (operation !== 'GetCallerIdentity')
      return xml(
        400,
        `<ErrorResponse><Error><Code>InvalidAction</Code><Message>${operation}</Message></Error></ErrorResponse>`,
      );
    return xml(
      200,
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
        `<Arn>${escapeXml(this.callerArn(req.caller))}</Arn><UserId>AROAWORLD:world-session</UserId>` +
        `<Account>${this.resolver.account}</Account></GetCallerIdentityResult>` +
        '<ResponseMetadata><RequestId>world</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
    );
  }

  /** DescribeStacks of one of the stage's stacks: its outputs, resolved. */
  private cloudFormation(req: WireRequest): WireAnswer {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const operation = form.get('Action') ?? '';
    const stackName = form.get('StackName') ?? '';
    this.record(req.caller, 'cloudformation', operation, { StackName: stackName });
    const stackArn = `arn:aws:cloudformation:${this.resolver.region}:${this.resolver.account}:stack/${stackName}/world`;
    const fail = (code: string, message: string) =>
      xml(
        400,
        `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></ErrorResponse>`,
      );
    if (operation !== 'DescribeStacks') return fail('InvalidAction', operation);
    if (!this.allows(req.caller, { action: 'cloudformation:DescribeStacks', resource: stackArn }))
      return fail('AccessDenied', `not authorized to perform: cloudformation:DescribeStacks on ${stackArn}`);
    const outputs = this.resolver.outputs(stackName);
    if (!outputs) return fail('ValidationError', `Stack with id ${stackName} does not exist`);
    const members = Object.entries(outputs)
      .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${escapeXml(v)}</OutputValue></member>`)
      .join('');
    return xml(
      200,
      '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult>' +
        `<Stacks><member><StackName>${escapeXml(stackName)}</StackName><StackId>${stackArn}</StackId>` +
        '<StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime>' +
        `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
        '<ResponseMetadata><RequestId>world</RequestId></ResponseMetadata></DescribeStacksResponse>',
    );
  }

  // --- Step Functions task tokens (JSON 1.0) ------------------------------------------------------------------

  private stepFunctions(req: WireRequest): WireAnswer {
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
    const params = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
    const error = (status: number, type: string, message: string) => json(status, { __type: type, message });
    if (this.record(req.caller, 'stepfunctions', operation, params))
      return error(500, 'InternalFailure', 'injected fault');
    if (operation === 'DescribeExecution' || operation === 'GetExecutionHistory') {
      const arn = String(params.executionArn);
      if (!this.allows(req.caller, { action: `states:${operation}`, resource: arn }))
        return error(400, 'AccessDeniedException', `not authorized to perform: states:${operation} on ${arn}`);
      const execution = this.executions.get(arn);
      if (!execution) return error(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
      if (operation === 'DescribeExecution') {
        const { executionArn, stateMachineArn, name, status } = execution;
        return json(200, { executionArn, stateMachineArn, name, status, startDate: 1796150000 });
      }
      // Pages of 100 events, newest first with reverseOrder; the token is the offset.
      const events = params.reverseOrder ? [...execution.events].reverse() : execution.events;
      const offset = Number(params.nextToken ?? 0);
      const page = events.slice(offset, offset + 100);
      return json(200, { events: page, ...(offset + 100 < events.length ? { nextToken: String(offset + 100) } : {}) });
    }
    const token = String(params.taskToken);
    const waiting = this.tokens.get(token);
    // A callback task's answer is authorized against its state machine (what IAM evaluates for callback tasks).
    const machine = [...this.executions.values()].find((e) => e.status === 'RUNNING' && token === `token-${e.name}`);
    if (!this.allows(req.caller, { action: `states:${operation}`, resource: machine?.stateMachineArn ?? '*' }))
      return error(400, 'AccessDeniedException', `not authorized to perform: states:${operation}`);
    if (!waiting) return error(400, 'TaskDoesNotExist', 'Task Token does not exist');
    this.tokens.delete(token);
    if (operation === 'SendTaskSuccess') waiting.resolve(JSON.parse(String(params.output)));
    else if (operation === 'SendTaskFailure')
      waiting.reject(
        Object.assign(new Error(String(params.cause ?? '')), { name: String(params.error ?? 'States.TaskFailed') }),
      );
    else return error(400, 'UnknownOperationException', `the world's Step Functions has no ${operation}`);
    return json(200, {});
  }
}

/** A function's execution environment: a child process answering invocations. */
interface Container {
  readonly child: ChildProcess;
  invoke(
    event: unknown,
    context: Record<string, unknown>,
  ): Promise<{ result: unknown } | { error: { errorType: string; errorMessage: string } }>;
}

function startContainer(
  fn: WorldFunction,
  version: string,
  env: Record<string, string>,
  onLine: (line: string) => void,
): Promise<Container> {
  const child = fork(join(__dirname, 'lambda-container.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const pending = new Map<number, (answer: never) => void>();
  let next = 0;
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  return new Promise((resolve, reject) => {
    child.on('message', (message: { ready?: true; id?: number }) => {
      if (message.ready) {
        resolve({
          child,
          invoke: (event, context) =>
            new Promise((done) => {
              const id = next++;
              pending.set(id, done as never);
              child.send({ id, event, context });
            }),
        });
        return;
      }
      pending.get(message.id!)?.(message as never);
      pending.delete(message.id!);
    });
    child.on('exit', (code) => {
      const reason = `${fn.name}:${version} exited (${code}): ${stderr.slice(-5).join(' | ')}`;
      reject(new Error(reason));
      for (const done of pending.values())
        done({ error: { errorType: 'Runtime.ExitError', errorMessage: reason } } as never);
    });
  });
}
