/**
 * The whole lifecycle in AWS mode: the agent extracts into S3 as its role, the retraining state machine runs as
 * synthesized, and every step runs its Lambda handler with the *AWS* implementations of the ports (S3, SageMaker
 * registry, Lambda alias deployment, CloudWatch, SNS) against the wire-level AWS of test/support/aws/, which
 * authorizes every call against the calling role's policy as synthesized. SageMaker training is the local
 * XGBoost 1.7.4 container behind CreateTrainingJob/DescribeTrainingJob. Paths: promoted, a canary answering 503
 * rolled back, a failure between any two of FinishDeploy's writes, not promoted, training failure, and in prod
 * approve and reject. After every path the registry, the champion pointer and the alias name the same model.
 *
 * It also measures least privilege: every call each role made, and the permissions it holds that nothing used.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { approve } from '../../cli/actions/approve';
import { audit } from '../../cli/actions/audit';
import { card } from '../../cli/actions/card';
import type { FairnessReport } from '../../contracts/fairness';
import { models } from '../../contracts/s3-layout';
import { APPROVAL_REJECTED, STATE } from '../../contracts/retraining-states';
import { polyfillWithResolvers } from '../../local/local-retraining';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { S3Store } from '../../onprem-agent/sink/s3-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { approvalTrailUri, type RetrainingSettings } from '../../stepfunctions/retraining-settings';
import { S3ArtifactStore } from '../../stepfunctions/artifact-store';
import { ApprovalTrail } from '../../stepfunctions/governance/approval-trail';
import { modelVersionOf } from '../../stepfunctions/model-registry';
import { approvalRejectionCause, retrainingOutcome } from '../../stepfunctions/retraining-outcome';
import { AwsWorld, type Caller, type RecordedCall } from '../support/aws/aws-world';
import { StageResolver } from '../support/aws/stage-resolver';
import { runWorldExecution, type WorldExecution } from '../support/aws/world-state-machine';
import { synthesizePlatform } from '../support/platform';
import { PROMOTED_PATH } from '../support/retraining-paths';
import { validateRequests } from '../support/aws/api-models';
import { stepInputCheck } from '../support/aws/step-input-schemas';
import { STEP_INPUTS_MATCH, type StepInputs } from '../support/step-inputs';

jest.setTimeout(300_000);
polyfillWithResolvers();

const { stages } = synthesizePlatform(['dev', 'prod']);
const ROOT = resolve(__dirname, '..', '..');
const entryOf = (logicalId: string) =>
  join(ROOT, logicalId.startsWith('ScorerFunction') ? 'lambdas/scorer/handler.ts' : 'stepfunctions/lambda-handlers.ts');

/**
 * The one synthetic bank both stages extract from (seeded on first use). Large enough that prod's calibration
 * bound is met on the test split: a third of the loans are too young to have an outcome.
 */
const BANK = join(mkdtempSync(join(tmpdir(), 'mlp-world-bank-')), 'bank.db');
function sharedBank(): string {
  if (!existsSync(BANK)) seedBank(BANK, { customers: 38_000, seed: 5 });
  return BANK;
}

/** A stage deployed into a world of its own, with its data extracted by the agent. */
class DeployedStage {
  readonly resolver: StageResolver;
  readonly world: AwsWorld;
  readonly operator: Caller;
  private machine!: { definition: Record<string, unknown>; arn: string; role: Caller };
  manifestKey = '';
  private runs = 0;

  constructor(readonly envName: string) {
    this.resolver = new StageResolver(stages[envName]);
    this.world = new AwsWorld(this.resolver, entryOf, mkdtempSync(join(tmpdir(), `mlp-world-${envName}-`)));
    this.operator = this.world.caller('operator', null);
  }

  /** The deployer function, which is told the settings and the scorer (once the world has loaded the stage). */
  private get deployer() {
    return [...this.world.functions.values()].find((f) => f.environment.SCORER_FUNCTION_NAME)!;
  }

  get settings(): RetrainingSettings {
    return JSON.parse(this.deployer.environment.RETRAINING_SETTINGS) as RetrainingSettings;
  }

  get scorer(): string {
    return this.deployer.environment.SCORER_FUNCTION_NAME;
  }

  async start(): Promise<void> {
    await this.world.start();
    const retraining = this.resolver.stage.retraining.stackName;
    const [id, props] = Object.entries(this.resolver.resources(retraining, 'AWS::StepFunctions::StateMachine'))[0];
    const roleId = (props.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    this.machine = {
      definition: JSON.parse(this.resolver.string(props.DefinitionString, retraining)) as Record<string, unknown>,
      arn: this.resolver.string({ Ref: id }, retraining),
      role: this.world.roleCaller(retraining, roleId),
    };
    const trainingRole = Object.keys(this.resolver.resources(retraining, 'AWS::IAM::Role')).find((r) =>
      r.startsWith('TrainingRole'),
    )!;
    this.world.roleCaller(retraining, trainingRole);
  }

  /**
   * A new extract of the bank by the agent, stored in the landing bucket as the agent's role: a new run is a new
   * dataset version (the gate declines to retrain a champion on the version it was trained on).
   */
  async extract(): Promise<void> {
    const bank = sharedBank();
    const dir = mkdtempSync(join(tmpdir(), 'mlp-world-run-'));
    const agentRole = Object.keys(
      this.resolver.resources(this.resolver.stage.onPremAccess.stackName, 'AWS::IAM::Role'),
    ).find((r) => r.startsWith('AgentRole'))!;
    const agent = this.world.roleCaller(this.resolver.stage.onPremAccess.stackName, agentRole);
    const client = new S3Client(this.world.clientConfig(agent));
    const example = loadAgentConfig(join(ROOT, 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
    const config = { ...example, stateDir: join(dir, 'state') };
    const store = new S3Store({
      bucket: this.settings.buckets.landing,
      region: this.resolver.region,
      kmsKeyId: 'key',
      client,
    });
    // The loans, then the protected attributes the fairness gate joins (a dataset of its own).
    for (const name of [this.settings.dataset, this.settings.fairness!.dataset]) {
      const source = new SqliteSource(bank);
      try {
        const result = await runExtract(
          config,
          config.datasets.find((d) => d.name === name)!,
          {
            source,
            store,
            key: Buffer.alloc(32, 4),
            now: () => new Date(Date.UTC(2026, 11, 1, 9, this.runs)),
          },
        );
        if (name === this.settings.dataset) this.manifestKey = result.manifestKey!;
      } finally {
        await source.close();
      }
    }
  }

  /**
   * One execution on a new extract, as its S3 manifest event starts it (or, with `trigger: 'schedule'`, as the
   * schedule does: no manifest named, the latest is taken).
   */
  async run(
    beforeTask?: (state: string, input: unknown) => Promise<void>,
    trigger: 'manifest' | 'schedule' = 'manifest',
  ): Promise<WorldExecution> {
    await this.extract();
    return runWorldExecution({
      world: this.world,
      definition: this.machine.definition,
      role: this.machine.role,
      stateMachineArn: this.machine.arn,
      input: trigger === 'manifest' ? { manifestKey: this.manifestKey, trigger } : { trigger },
      name: `${this.envName}-run-${++this.runs}`,
      beforeTask,
    });
  }

  /** Sends `count` scoring requests to the live alias as the API would; answers by executed version. */
  async score(count: number): Promise<Array<{ version: string; status: number }>> {
    const client = new LambdaClient(this.world.clientConfig(this.operator));
    const record = Object.fromEntries(this.settings.numericFeatures.map((name) => [name, 1]));
    const answers: Array<{ version: string; status: number }> = [];
    for (let i = 0; i < count; i++) {
      const response = await client.send(
        new InvokeCommand({
          FunctionName: this.scorer,
          Qualifier: 'live',
          Payload: Buffer.from(
            JSON.stringify({
              httpMethod: 'POST',
              path: '/score',
              requestContext: { requestId: `r${i}` },
              body: JSON.stringify({ records: [record] }),
            }),
          ),
        }),
      );
      const body = JSON.parse(Buffer.from(response.Payload!).toString('utf8')) as { statusCode: number };
      answers.push({ version: response.ExecutedVersion!, status: body.statusCode });
    }
    return answers;
  }

  /** What the three records say serves: the registry's champion, the pointer, and the alias. */
  records() {
    const scorer = this.world.functions.get(this.scorer)!;
    const alias = scorer.aliases.get('live')!;
    const pointerText = this.world.object(
      `s3://${this.settings.buckets.models}/${models.championPointerKey(this.settings.dataset)}`,
    );
    const pointer = pointerText
      ? (JSON.parse(pointerText.toString('utf8')) as { modelVersion: string }).modelVersion
      : null;
    // A version Deploy published carries its model; the version CloudFormation installed follows the pointer.
    const served = scorer.versions.get(alias.version)!.MODEL_VERSION ?? pointer;
    const approved = this.world.packages.filter((p) => p.status === 'Approved').map((p) => modelVersionOf(p.arn));
    return {
      alias: served,
      canaryWeights: alias.weights,
      pointer,
      registry: approved.at(-1) ?? null,
      pending: this.world.packages
        .filter((p) => p.status === 'PendingManualApproval')
        .map((p) => modelVersionOf(p.arn)),
    };
  }

  /** The three records agree on `champion` (null: none), with no canary share left and nothing pending. */
  expectChampion(champion: string | null): void {
    expect(this.records()).toEqual({
      alias: champion,
      canaryWeights: {},
      pointer: champion,
      registry: champion,
      pending: [],
    });
  }

  /** Replaces a function's environment (its containers start again with it). */
  setEnvironment(functionName: string, change: (env: Record<string, string>) => Record<string, string>): void {
    const fn = this.world.functions.get(functionName)!;
    fn.environment = change(fn.environment);
    this.world.restartContainers(functionName);
  }

  functionNamed(prefix: string): string {
    return [...this.world.functions.values()].find((f) => f.name.startsWith(prefix))!.name;
  }
}

/** Written by Lambda for a traced function, not by its code. */
const TRACING = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
/**
 * Permissions each role holds that no call in these paths makes, and why they stay: the service uses them on the
 * role's behalf (traces, log delivery, the training job's network interfaces, logs, metrics and volume keys),
 * Step Functions stops a job when an execution is stopped, or the agent reads them on resume
 * (test/infra/aws-contracts.test.ts).
 */
const EXPECTED_UNUSED: Record<string, string[]> = {
  ScorerFunctionServiceRole: TRACING,
  ValidateManifestStepFunctionServiceRole: TRACING,
  PrepareStepFunctionServiceRole: TRACING,
  EvaluateStepFunctionServiceRole: TRACING,
  GateStepFunctionServiceRole: TRACING,
  DeployerStepFunctionServiceRole: TRACING,
  ApprovalStepFunctionServiceRole: TRACING,
  StateMachineRole: [
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
    'sagemaker:StopTrainingJob',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    ...TRACING,
  ],
  TrainingRole: [
    'cloudwatch:PutMetricData',
    'ec2:CreateNetworkInterface',
    'ec2:CreateNetworkInterfacePermission',
    'ec2:DeleteNetworkInterface',
    'ec2:DeleteNetworkInterfacePermission',
    'ec2:DescribeDhcpOptions',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSubnets',
    'ec2:DescribeVpcs',
    'kms:CreateGrant',
    'kms:Encrypt',
    'logs:CreateLogGroup',
    'logs:CreateLogStream',
    'logs:DescribeLogStreams',
    'logs:PutLogEvents',
  ],
  AgentRole: ['kms:Decrypt', 's3:GetObject', 's3:ListBucket'],
  // Two approvers holding the approver policy: one approved, one declined; only jane ran mlp audit.
  jane: ['states:SendTaskFailure'],
  'risk.officer': ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'states:SendTaskSuccess'],
};

const outcomeOf = (execution: WorldExecution) => retrainingOutcome(execution.status, execution.output, execution.error);

const dev = new DeployedStage('dev');
const prod = new DeployedStage('prod');

beforeAll(async () => {
  await Promise.all([dev.start(), prod.start()]);
});

afterAll(async () => {
  await Promise.all([dev.world.close(), prod.world.close()]);
});

describe('dev, as a bank runs it over time', () => {
  test('a first retrain is promoted: registry Approved, pointer and alias on the new version', async () => {
    const canary: Array<{ version: string; status: number }> = [];
    const execution = await dev.run(async (state) => {
      if (state === STATE.finishDeploy) canary.push(...(await dev.score(30)));
    });
    expect(execution.error).toBeUndefined();
    expect(execution.output?.gate).toMatchObject({ promote: true });
    expect(execution.path).toEqual(PROMOTED_PATH);
    expect(outcomeOf(execution)).toMatchObject({ outcome: 'Promoted', modelVersion: 'mlp-dev-loans/1' });
    // Evaluate merged the attributes extract as its own role and joined every test row by pseudonymous key.
    const fairness = (execution.output as { evaluation: { fairness: FairnessReport } }).evaluation.fairness;
    expect(fairness.problems).toEqual([]);
    expect(fairness.joined).toBe(fairness.rows);
    expect(fairness.attributes.map((a) => a.attribute)).toEqual(dev.settings.fairness!.attributes);
    // The canary's own traffic was served, and answered 200.
    expect(canary.filter((a) => a.version === '2').length).toBeGreaterThan(0);
    expect(canary.filter((a) => a.version === '2').every((a) => a.status === 200)).toBe(true);
    dev.expectChampion('mlp-dev-loans/1');
    expect((await dev.score(5)).every((a) => a.status === 200 && a.version === '2')).toBe(true);
  });

  test('a canary whose version answers 503 to everything is rolled back on its own traffic', async () => {
    const canary: Array<{ version: string; status: number }> = [];
    const execution = await dev.run(async (state, input) => {
      if (state !== STATE.finishDeploy) return;
      // The candidate's serving copy of its model is damaged: every request it gets is answered 503.
      const modelVersion = modelVersionOf(
        (input as { execution: { registration: { modelPackageArn: string } } }).execution.registration.modelPackageArn,
      );
      const key = models.servingKeys(dev.settings.dataset, modelVersion).model;
      dev.world.objects.set(`${dev.settings.buckets.models}/${key}`, Buffer.from('not a model'));
      canary.push(...(await dev.score(60)));
    });
    const candidate = canary.filter((a) => a.version === '3');
    expect(candidate.length).toBeGreaterThan(0);
    expect(candidate.every((a) => a.status === 503)).toBe(true);
    // The champion's own traffic (far more of it) stayed healthy: an alarm on the whole function would dilute it.
    expect(canary.filter((a) => a.version === '2').every((a) => a.status === 200)).toBe(true);
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.name).toBe('CanaryRolledBack');
    expect(execution.error?.cause).toMatch(/version 3 answered \d+ of its \d+ requests with a 5xx and crashed on 0/);
    expect(execution.path.slice(-4)).toEqual(['FinishDeploy', 'RollBackDeploy', 'NotifyFailure', 'RetrainingFailed']);
    dev.expectChampion('mlp-dev-loans/1');
    const rejected = dev.world.packages.at(-1)!;
    expect(rejected).toMatchObject({ status: 'Rejected' });
    expect(rejected.description).toMatch(/^deployment rolled back: CanaryRolledBack/);
  });

  test('a canary whose version crashes (no metric of its own) is rolled back on Lambda errors', async () => {
    const canary: Array<{ version: string; status: number }> = [];
    let candidate = '';
    const execution = await dev.run(async (state, input) => {
      if (state !== STATE.finishDeploy) return;
      // The candidate's runtime cannot start: Lambda answers each invocation with an error, the handler never runs.
      candidate = (input as { execution: { deployment: { candidate: string } } }).execution.deployment.candidate;
      const scorer = dev.world.functions.get(dev.scorer)!;
      scorer.versions.set(candidate, { ...scorer.versions.get(candidate)!, NODE_OPTIONS: '--require /nonexistent.js' });
      canary.push(...(await dev.score(60)));
    });
    expect(canary.filter((a) => a.version === candidate).length).toBeGreaterThan(0);
    expect(execution.error?.name).toBe('CanaryRolledBack');
    expect(execution.error?.cause).toMatch(
      new RegExp(`version ${candidate} answered 0 of its 0 requests with a 5xx and crashed on [1-9]`),
    );
    dev.expectChampion('mlp-dev-loans/1');
  });

  test('a Deploy failing part-way is rolled back too: no canary share is left, the candidate is Rejected', async () => {
    const fault = (call: RecordedCall) =>
      call.operation === 'UpdateAlias' &&
      Object.keys((call.params.RoutingConfig as { AdditionalVersionWeights: object }).AdditionalVersionWeights).length >
        0;
    dev.world.faults.push(fault);
    try {
      const execution = await dev.run();
      expect(execution.path.slice(-4)).toEqual(['Deploy', 'RollBackDeploy', 'NotifyFailure', 'RetrainingFailed']);
    } finally {
      dev.world.faults.splice(dev.world.faults.indexOf(fault), 1);
    }
    dev.expectChampion('mlp-dev-loans/1');
    expect(dev.world.packages.at(-1)).toMatchObject({ status: 'Rejected' });
  });

  const writes: Array<[string, (call: RecordedCall, candidate: string) => boolean]> = [
    [
      'the registry',
      (call) => call.operation === 'UpdateModelPackage' && call.params.ModelApprovalStatus === 'Approved',
    ],
    [
      'the champion pointer',
      (call, candidate) =>
        call.operation === 'PutObject' &&
        String(call.params.Key).endsWith('champion.json') &&
        String(call.params.Body).includes(`"${candidate}"`),
    ],
    [
      'the alias',
      (call, candidate) =>
        call.operation === 'UpdateAlias' &&
        call.params.FunctionVersion !== undefined &&
        call.params.FunctionVersion === candidate,
    ],
  ];
  test.each(writes)(
    'FinishDeploy failing at its write of %s leaves the three records on the champion',
    async (_, matches) => {
      const before = dev.records().pointer;
      const candidateVersion = String(dev.world.functions.get(dev.scorer)!.versions.size + 1);
      const candidateModel = `mlp-dev-loans/${dev.world.packages.length + 1}`;
      const fault = (call: RecordedCall) =>
        matches(call, call.operation === 'UpdateAlias' ? candidateVersion : candidateModel);
      dev.world.faults.push(fault);
      try {
        const execution = await dev.run();
        expect({ status: execution.status, path: execution.path }).toMatchObject({ status: 'FAILED' });
        expect(execution.path.slice(-4)).toEqual([
          'FinishDeploy',
          'RollBackDeploy',
          'NotifyFailure',
          'RetrainingFailed',
        ]);
        expect(dev.world.calls.some(fault)).toBe(true);
      } finally {
        dev.world.faults.splice(dev.world.faults.indexOf(fault), 1);
      }
      dev.expectChampion(before);
      expect(dev.world.packages.at(-1)!.status).toBe('Rejected');
    },
  );

  test('a candidate the gate turns down is Rejected with its reasons; the champion keeps serving', async () => {
    const gate = dev.functionNamed('GateStep');
    const original = { ...dev.world.functions.get(gate)!.environment };
    dev.setEnvironment(gate, (env) => {
      const settings = JSON.parse(env.RETRAINING_SETTINGS) as RetrainingSettings;
      return {
        ...env,
        RETRAINING_SETTINGS: JSON.stringify({ ...settings, promotion: { ...settings.promotion, minAuc: 0.999 } }),
      };
    });
    try {
      // The schedule builds as of the latest manifest merged into the curated table, not the one just landed.
      const merged = dev.manifestKey;
      const execution = await dev.run(undefined, 'schedule');
      expect(outcomeOf(execution)).toMatchObject({ outcome: 'NotPromoted' });
      expect(dev.manifestKey).not.toBe(merged);
      expect(execution.output?.validation).toMatchObject({ manifestUri: expect.stringContaining(merged) });
      expect(execution.path.slice(-2)).toEqual(['RecordRejection', 'NotPromoted']);
    } finally {
      dev.setEnvironment(gate, () => original);
    }
    dev.expectChampion('mlp-dev-loans/1');
    expect(dev.world.packages.at(-1)!.description).toMatch(/0\.999/);
  });

  test('a training job that fails ends the execution TrainingFailed-notified; nothing is registered', async () => {
    const registered = dev.world.packages.length;
    const notices = dev.world.messages.length;
    dev.world.nextTrainingFailure = 'AlgorithmError: the channel train has no rows';
    const execution = await dev.run();
    expect(execution.status).toBe('FAILED');
    expect(execution.path.slice(-3)).toEqual(['Train', 'NotifyFailure', 'RetrainingFailed']);
    expect(execution.error?.name).toBe('States.TaskFailed');
    expect(execution.error?.cause).toContain('AlgorithmError: the channel train has no rows');
    expect(dev.world.packages.length).toBe(registered);
    expect(dev.world.messages.slice(notices)).toEqual([
      expect.objectContaining({ message: expect.stringContaining('The champion keeps serving') }),
    ]);
    dev.expectChampion('mlp-dev-loans/1');
  });
});

describe('prod, where a human decides', () => {
  /** Prod's approval trail, read as the operator. */
  function prodTrail(): ApprovalTrail {
    const store = new S3ArtifactStore(prod.world.clientConfig(prod.operator));
    return new ApprovalTrail(store, approvalTrailUri(prod.settings)!);
  }

  /**
   * Runs an execution and answers its approval request with `mlp approve VERSION --env prod`, as an approver who
   * holds the stage's approver policy and nothing else.
   */
  async function runWithDecision(decision: { approver: string; reject?: boolean; reason: string }) {
    const published = prod.world.messages.length;
    const saved = { ...process.env };
    let ended = false;
    const approver = prod.world.policyCaller(
      decision.approver,
      prod.resolver.stage.retraining.stackName,
      'ApproversPolicy',
    );
    const answering = (async () => {
      while (prod.world.messages.length === published) {
        if (ended) throw new Error('the execution ended without asking for approval');
        await new Promise((done) => setTimeout(done, 50));
      }
      const request = JSON.parse(prod.world.messages[published].message) as { modelVersion: string };
      Object.assign(process.env, prod.world.sdkEnvironment(approver));
      try {
        await approve(request.modelVersion, {
          env: 'prod',
          json: true,
          reject: decision.reject,
          reason: decision.reason,
        });
      } finally {
        process.env = saved;
      }
    })();
    const execution = await prod.run().finally(() => (ended = true));
    await answering;
    return { execution, approverArn: prod.world.callerArn(approver) };
  }

  test('a first promotion whose pointer write is stored but answered with an error leaves no champion: the pointer is retracted', async () => {
    const fault = (call: RecordedCall) =>
      call.operation === 'PutObject' &&
      String(call.params.Key).endsWith('champion.json') &&
      String(call.params.Body).includes('"mlp-prod-loans/1"');
    prod.world.lostResponses.push(fault);
    try {
      const { execution } = await runWithDecision({ approver: 'jane', reason: 'first model, reviewed' });
      expect(execution.path.slice(-4)).toEqual(['FinishDeploy', 'RollBackDeploy', 'NotifyFailure', 'RetrainingFailed']);
      expect(prod.world.calls.some(fault)).toBe(true);
    } finally {
      prod.world.lostResponses.splice(prod.world.lostResponses.indexOf(fault), 1);
    }
    // The pointer FinishDeploy had written is gone, so the version CloudFormation installed serves no model.
    expect(prod.world.calls.some((c) => c.operation === 'DeleteObject')).toBe(true);
    prod.expectChampion(null);
    expect(prod.world.packages[0]).toMatchObject({ status: 'Rejected' });
  });

  test('an approved candidate is deployed with its approver recorded: the IAM identity that ran mlp approve', async () => {
    const { execution, approverArn } = await runWithDecision({ approver: 'jane', reason: 'reviewed, RISK-14' });
    expect(execution.error).toBeUndefined();
    expect(outcomeOf(execution)).toMatchObject({ outcome: 'Promoted', approver: approverArn });
    prod.expectChampion('mlp-prod-loans/2');
    expect(prod.world.packages[1].metadata.approver).toBe(approverArn);
    const trail = await prodTrail().ofVersion('mlp-prod-loans/2');
    expect(trail.map((e) => e.event)).toEqual(['gate-passed', 'approval-requested', 'approved', 'deployed']);
    expect(trail[2]).toMatchObject({ principal: { kind: 'iam', id: approverArn }, reason: 'reviewed, RISK-14' });
    // The request told the approver the command, not the task token.
    expect(prod.world.messages.at(-1)!.message).not.toContain('token-');
  });

  test('a rejected candidate is Rejected by its approver with the reason; the champion keeps serving', async () => {
    const { execution, approverArn } = await runWithDecision({
      approver: 'risk.officer',
      reject: true,
      reason: 'calibration drifts in the last quarter, see RISK-12',
    });
    expect(outcomeOf(execution)).toMatchObject({
      outcome: 'Rejected',
      approver: approverArn,
      reason: 'calibration drifts in the last quarter, see RISK-12',
    });
    prod.expectChampion('mlp-prod-loans/2');
    expect(prod.world.packages[2]).toMatchObject({ status: 'Rejected' });
    expect(prod.world.packages[2].metadata.approver).toBe(approverArn);
  });

  test('a decision for a version that is not waiting is refused by name, and nothing is recorded', async () => {
    const approver = prod.world.policyCaller('jane', prod.resolver.stage.retraining.stackName, 'ApproversPolicy');
    const saved = { ...process.env };
    Object.assign(process.env, prod.world.sdkEnvironment(approver));
    try {
      const before = (await prodTrail().entries()).length;
      await expect(approve('mlp-prod-loans/2', { env: 'prod', reason: 'again' })).rejects.toThrow(
        /mlp-prod-loans\/2 is not waiting for approval: its latest entry is #\d+ deployed/,
      );
      await expect(approve('mlp-prod-loans/99', { env: 'prod', reason: 'x' })).rejects.toThrow(
        /mlp-prod-loans\/99 has no entry in prod's approval trail/,
      );
      expect((await prodTrail().entries()).length).toBe(before);
    } finally {
      process.env = saved;
    }
  });

  test("mlp audit --env prod, as an approver, checks the trail against the registry's anchors", async () => {
    const approver = prod.world.policyCaller('jane', prod.resolver.stage.retraining.stackName, 'ApproversPolicy');
    const saved = { ...process.env };
    Object.assign(process.env, prod.world.sdkEnvironment(approver));
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    const run = async () => {
      printed.length = 0;
      await audit({ env: 'prod', json: true });
    };
    const last = () => JSON.parse(printed.join('')) as { verified: boolean; anchors: number; problems: string[] };
    try {
      await run();
      // Every version whose story ended wrote its card, anchoring its last entry (ListModelPackages paged).
      const ended = prod.world.packages.filter((p) => p.metadata.modelCardUri !== undefined).length;
      expect(ended).toBeGreaterThanOrEqual(2);
      expect(last()).toMatchObject({ verified: true, problems: [], anchors: ended });
      // The last entry taken away (what Object Lock forbids in prod): the chain left verifies, the anchor does not.
      const prefix = `${prod.settings.buckets.audit}/${approvalTrailUri(prod.settings)!.split('/').slice(3).join('/')}`;
      const tail = [...prod.world.objects.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .at(-1)!;
      const body = prod.world.objects.get(tail)!;
      prod.world.objects.delete(tail);
      try {
        await expect(run()).rejects.toThrow('the approval trail does not verify');
        expect(last().problems).toEqual([
          expect.stringMatching(
            /^the registry anchors mlp-prod-loans\/\d+ at entry \d+, but the trail ends at entry \d+/,
          ),
        ]);
      } finally {
        prod.world.objects.set(tail, body);
      }
    } finally {
      write.mockRestore();
      process.env = saved;
    }
  });

  test("mlp card VERSION --env prod rebuilds a version's card from the registry, its documents and the trail", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, prod.world.sdkEnvironment(prod.operator));
    const out = mkdtempSync(join(tmpdir(), 'mlp-world-card-'));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const approved = prod.world.packages.find((p) => p.status === 'Approved')!;
      const version = `${approved.group}/${approved.version}`;
      const anchor = approved.metadata.approvalTrailAnchor;
      expect(anchor).toMatch(/^\d+:[0-9a-f]{64}$/);
      await card(version, { env: 'prod', out, json: true });
      const written = JSON.parse(readFileSync(join(out, `${version.replace('/', '-')}.card.json`), 'utf8'));
      expect(written).toMatchObject({
        model: { version, status: 'Approved' },
        governance: { approval: { event: 'approved', principal: expect.stringMatching(/^iam:arn:aws:sts::/) } },
        fairness: { problems: [], attributes: [{ attribute: 'birth_date' }, { attribute: 'sex' }] },
        missing: [],
      });
      // Stored beside the artifact and recorded in the registry, anchored where the pipeline anchored it.
      const key = `${prod.settings.buckets.models}/${models.cardKeys(prod.settings.dataset, version).json}`;
      expect(JSON.parse(prod.world.objects.get(key)!.toString('utf8'))).toEqual(written);
      expect(approved.metadata.modelCardUri).toBe(`s3://${key}`);
      expect(approved.metadata.approvalTrailAnchor).toBe(anchor);
    } finally {
      write.mockRestore();
      process.env = saved;
    }
  });

  test('an answer to the waiting task without an approval in the trail deploys nothing (ApprovalNotRecorded)', async () => {
    const published = prod.world.messages.length;
    const answering = (async () => {
      while (prod.world.messages.length === published) await new Promise((done) => setTimeout(done, 50));
      // Whoever holds states:SendTaskSuccess answers the token directly, bypassing mlp approve and the trail.
      const [execution] = [...prod.world.executions.values()].filter((e) => e.status === 'RUNNING');
      const client = new SFNClient(prod.world.clientConfig(prod.operator));
      await client.send(
        new SendTaskSuccessCommand({
          taskToken: `token-${execution.name}`,
          output: JSON.stringify({ approver: 'mallory' }),
        }),
      );
    })();
    const execution = await prod.run();
    await answering;
    expect(execution.status).toBe('FAILED');
    expect(execution.path).toContain('RollBackDeploy');
    expect(execution.path).not.toContain('FinishDeploy');
    expect(JSON.stringify(execution)).toContain('ApprovalNotRecorded');
    prod.expectChampion('mlp-prod-loans/2');
    expect(prod.world.packages.at(-1)).toMatchObject({ status: 'Rejected' });
  });

  test('a rejection answered around the trail is recorded without an approver: the typed name is not taken', async () => {
    const published = prod.world.messages.length;
    const answering = (async () => {
      while (prod.world.messages.length === published) await new Promise((done) => setTimeout(done, 50));
      // Whoever holds states:SendTaskFailure fails the token directly, naming someone else.
      const [execution] = [...prod.world.executions.values()].filter((e) => e.status === 'RUNNING');
      const client = new SFNClient(prod.world.clientConfig(prod.operator));
      await client.send(
        new SendTaskFailureCommand({
          taskToken: `token-${execution.name}`,
          error: APPROVAL_REJECTED,
          cause: approvalRejectionCause({ approver: 'jane', reason: 'typed, not authenticated' }),
        }),
      );
    })();
    const execution = await prod.run();
    await answering;
    expect(execution.path.slice(-2)).toEqual(['RecordRejection', 'NotPromoted']);
    const outcome = outcomeOf(execution);
    expect(outcome).toMatchObject({ outcome: 'Rejected', reason: expect.stringContaining('outside mlp approve') });
    expect(outcome).not.toHaveProperty('approver');
    const version = prod.world.packages.at(-1)!;
    expect(version.status).toBe('Rejected');
    expect(version.metadata.approver).toBeUndefined();
    const trail = await prodTrail().ofVersion(`${version.group}/${version.version}`);
    expect(trail.map((e) => e.event)).toEqual(['gate-passed', 'approval-requested', 'rejected']);
    expect(trail[2]).toMatchObject({ principal: { kind: 'state-machine' } });
    expect(JSON.stringify(trail)).not.toContain('typed, not authenticated');
    prod.expectChampion('mlp-prod-loans/2');
  });
});

describe('after every path', () => {
  test('no call was denied to any role', () => {
    const denied: Array<{ caller: string; action: string; resource: string }> = [];
    for (const world of [dev.world, prod.world]) {
      for (const caller of world.callers.values())
        for (const call of caller.policy?.calls ?? [])
          if (!call.allowed) denied.push({ caller: caller.name, action: call.action, resource: call.resource });
    }
    expect(denied).toEqual([]);
  });

  test("each Lambda step's rendered payload is its entry point's input type (the definition's data flow)", () => {
    const check = stepInputCheck();
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const world of [dev.world, prod.world]) {
      for (const call of world.calls) {
        if (call.service !== 'lambda' || call.operation !== 'Invoke') continue;
        const name = String(call.params.FunctionName).split(':')[6] ?? String(call.params.FunctionName);
        const entry = world.functions.get(name)?.handler as keyof StepInputs | undefined;
        if (!entry || !(entry in STEP_INPUTS_MATCH)) continue; // the scorer, invoked by the test as the API
        seen.add(entry);
        problems.push(...check.problems(entry, JSON.parse(String(call.params.Payload))));
      }
    }
    expect([...new Set(problems)]).toEqual([]);
    expect([...seen].sort()).toEqual(Object.keys(STEP_INPUTS_MATCH).sort());
    // The check can fail: a payload without what Prepare reads is named.
    expect(check.problems('prepare', { validation: {} })).toEqual(
      expect.arrayContaining([expect.stringMatching(/executionName/)]),
    );
  });

  test('every request sent validates against AWS API models (botocore)', () => {
    const problems = validateRequests([...dev.world.calls, ...prod.world.calls]);
    expect(problems).toEqual([]);
    // The check can fail: a request without what the model requires is named.
    expect(
      validateRequests([{ caller: 'test', service: 'sagemaker', operation: 'UpdateModelPackage', params: {} }]),
    ).toEqual([expect.stringMatching(/test sagemaker\.UpdateModelPackage: .*ModelPackageArn/s)]);
  });

  test('least privilege, measured: the calls each role made and the permissions nothing used', () => {
    // Roles are named alike in both stages: what one role made in either counts for both.
    const made = new Map<string, Set<string>>();
    const held = new Map<string, Set<string>>();
    for (const world of [dev.world, prod.world]) {
      for (const caller of world.callers.values()) {
        if (!caller.policy) continue;
        const name = caller.name.replace(/[0-9A-F]{8}$/, '');
        for (const call of caller.policy.calls)
          if (call.allowed) (made.get(name) ?? made.set(name, new Set()).get(name)!).add(call.action);
        for (const s of caller.policy.statements)
          if (s.effect === 'Allow')
            for (const a of s.actions) (held.get(name) ?? held.set(name, new Set()).get(name)!).add(a);
      }
    }
    const report = Object.fromEntries(
      [...held].map(([name, actions]) => {
        const calls = [...(made.get(name) ?? [])].sort();
        const lower = new Set(calls.map((c) => c.toLowerCase()));
        return [name, { calls, unused: [...actions].filter((a) => !lower.has(a.toLowerCase())).sort() }];
      }),
    );
    const path = join(tmpdir(), 'mlp-least-privilege.json');
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    // What a role holds and nothing here used is exactly what AWS uses on its behalf, or what only other tests
    // exercise: a new permission nothing uses fails this.
    expect(Object.fromEntries(Object.entries(report).map(([name, entry]) => [name, entry.unused]))).toEqual(
      EXPECTED_UNUSED,
    );
  });
});
