/**
 * The AWS implementations held to AWS's contracts, at the wire: the real SDK clients talk to local stand-ins
 * that authorize every call against the calling role's policy as synthesized (test/support/iam-policy.ts), so a
 * permission the code needs and the stack does not grant fails here as it would on the first deployment. Also:
 * the keys the training job is handed are usable by its role, and every service a VPC-attached function may
 * call has an endpoint in its environment's VPC.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { STATE } from '../../contracts/retraining-states';
import { models } from '../../contracts/s3-layout';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import type { ObjectStore } from '../../onprem-agent/sink/object-store';
import { S3Store } from '../../onprem-agent/sink/s3-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { S3ArtifactStore } from '../../stepfunctions/artifact-store';
import { LambdaAliasDeployment } from '../../stepfunctions/scorer-deployment';
import type { PlatformStage } from '../../lib/platform-stage';
import { type CfnResolver, rolePolicy } from '../support/iam-policy';
import { AwsWorld } from '../support/aws/aws-world';
import { StageResolver } from '../support/aws/stage-resolver';
import { synthesizePlatform } from '../support/platform';
import { standInClientConfig, startS3StandIn } from '../support/s3-stand-in';

jest.setTimeout(120_000);

const { stages } = synthesizePlatform(['dev', 'prod']);

/**
 * Resolves the references of a stage's templates to the concrete names the stand-ins serve: imported bucket
 * ARNs to `arn:aws:s3:::<bucket>-bucket`, the scorer to `function:mlp-<env>-scorer`, keys to `key/<name>`.
 */
function resolverFor(stage: PlatformStage): CfnResolver {
  const region = stage.region!;
  const account = stage.account!;
  const resolve: CfnResolver = (value) => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(resolve).join(',');
    const v = value as Record<string, unknown>;
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    if ('Fn::ImportValue' in v) {
      const bucket = /(landing|curated|models)-bucket-arn$/.exec(String(v['Fn::ImportValue']))?.[1];
      if (bucket) return `arn:aws:s3:::${bucket}-bucket`;
    }
    if ('Fn::GetStackOutput' in v) {
      const name = (v['Fn::GetStackOutput'] as { OutputName: string }).OutputName;
      const key = /GetAtt(Landing|Models|Audit|Capture)Key/.exec(name)?.[1];
      if (key) return `arn:aws:kms:${region}:${account}:key/${key.toLowerCase()}`;
      if (/ScorerFunction.*Arn/.test(name))
        return `arn:aws:lambda:${region}:${account}:function:mlp-${stage.stageName}-scorer`;
    }
    if ('Ref' in v) {
      const ref = String(v.Ref);
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return region;
      if (ref === 'AWS::AccountId') return account;
      return `<${ref}>`;
    }
    if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
    return `<unresolved ${Object.keys(v).join(',')}>`;
  };
  return resolve;
}

const dev = stages.dev;
const resolveDev = resolverFor(dev);

describe('the deployer, against Lambda with its role as synthesized', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('a canary starts, completes and rolls back with every call allowed (the update waiter included)', async () => {
    const world = await new AwsWorld(new StageResolver(dev), () => '', tmpdir()).start();
    try {
      const deployerFunction = [...world.functions.values()].find((f) => f.environment.SCORER_FUNCTION_NAME)!;
      const scorer = world.functions.get(deployerFunction.environment.SCORER_FUNCTION_NAME)!;
      Object.assign(process.env, world.sdkEnvironment(deployerFunction.role));
      const deployment = new LambdaAliasDeployment({
        functionName: scorer.name,
        aliasName: 'live',
        canaryPercent: 10,
        alarmNames: [],
        metricsNamespace: 'mlp/dev',
        maxCanaryErrorPercent: 5,
      });
      const target = {
        modelVersion: 'mlp-dev-loans/2',
        modelDataUrl: 's3://models-bucket/loans/training/job-2/output/model.tar.gz',
        featureSpecUri: 's3://curated-bucket/loans/v2/feature-spec.json',
        modelSha256: 'ab'.repeat(32),
      };
      const handle = await deployment.startCanary(target);
      expect(handle).toMatchObject({ candidate: '2', previous: '1' });
      expect(scorer.aliases.get('live')).toEqual({ version: '1', weights: { '2': 0.1 } });
      expect(scorer.versions.get('2')).toMatchObject({ MODEL_URI: target.modelDataUrl });
      await deployment.rollback(handle);
      expect(scorer.aliases.get('live')).toEqual({ version: '1', weights: {} });
      await deployment.complete(await deployment.startCanary(target));
      expect(scorer.aliases.get('live')).toEqual({ version: '3', weights: {} });
      expect(deployerFunction.role.policy!.calls.filter((c) => !c.allowed)).toEqual([]);
      expect(new Set(world.calls.map((c) => c.operation))).toEqual(
        new Set([
          'GetAlias',
          'GetFunctionConfiguration',
          'UpdateFunctionConfiguration',
          'GetFunction',
          'PublishVersion',
          'UpdateAlias',
        ]),
      );
    } finally {
      await world.close();
    }
  }, 30_000);
});

test('the agent resumes an interrupted run in S3 with its role as synthesized (a listing, not a 403 HEAD)', async () => {
  const policy = rolePolicy(Template.fromStack(dev.onPremAccess), 'AgentRole', resolveDev);
  const s3 = await startS3StandIn(policy);
  try {
    const client = new S3Client({ ...standInClientConfig(s3.endpoint), maxAttempts: 2 });
    const store = new S3Store({ bucket: 'landing-bucket', region: 'eu-west-2', kmsKeyId: 'key', client });
    const dir = mkdtempSync(join(tmpdir(), 'mlp-aws-resume-'));
    seedBank(join(dir, 'bank.db'), { customers: 3000, seed: 5 });
    const example = loadAgentConfig(
      resolvePath(__dirname, '..', '..', 'onprem-agent', 'examples', 'synthetic-bank.yaml'),
    );
    const config = { ...example, stateDir: join(dir, 'state') };
    const dataset = { ...config.datasets[0], quasiIdentifiers: ['birth_date'], k: 3, partRows: 300 };
    const deps = { key: Buffer.alloc(32, 2), now: () => new Date('2026-11-28T12:00:00Z') };

    // The first run dies as it stores the manifest: every part is stored, the run is open in the journal.
    const crashing: ObjectStore = {
      head: (key) => store.head(key),
      get: (key) => store.get(key),
      list: (prefix) => store.list(prefix),
      putIfAbsent: (key, body, digest) =>
        key.endsWith('_manifest.json') ? Promise.reject(new Error('killed')) : store.putIfAbsent(key, body, digest),
    };
    const first = new SqliteSource(join(dir, 'bank.db'));
    await expect(runExtract(config, dataset, { ...deps, source: first, store: crashing })).rejects.toThrow('killed');
    await first.close();

    const source = new SqliteSource(join(dir, 'bank.db'));
    const result = await runExtract(config, dataset, { ...deps, source, store });
    await source.close();
    expect(result.resumed).toBe(true);
    expect(s3.objects.has(`/landing-bucket/${result.manifestKey}`)).toBe(true);
    expect(policy.calls.filter((c) => !c.allowed)).toEqual([]);
  } finally {
    await s3.close();
  }
});

test('Evaluate asks whether a champion pointer exists with a listing its role may make, and reads it', async () => {
  const policy = rolePolicy(Template.fromStack(dev.retraining), 'EvaluateStepFunctionServiceRole', resolveDev);
  const s3 = await startS3StandIn(policy);
  try {
    const store = new S3ArtifactStore(standInClientConfig(s3.endpoint));
    const pointer = `s3://models-bucket/${models.championPointerKey('loans')}`;
    await expect(store.exists(pointer)).resolves.toBe(false);
    s3.objects.set(`/models-bucket/${models.championPointerKey('loans')}`, Buffer.from('{}'));
    await expect(store.exists(pointer)).resolves.toBe(true);
    await expect(store.get(pointer)).resolves.toEqual(new Uint8Array(Buffer.from('{}')));
    expect(policy.calls.filter((c) => !c.allowed)).toEqual([]);
  } finally {
    await s3.close();
  }
});

test("the training job's role may use the keys the Train state hands it (artifact and volume)", () => {
  const template = Template.fromStack(dev.retraining);
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const definition = JSON.parse(resolveDev(machine.Properties.DefinitionString)) as {
    States: Record<string, { Parameters: Record<string, Record<string, string>> }>;
  };
  const train = definition.States[STATE.train].Parameters;
  const role = rolePolicy(template, 'TrainingRole', resolveDev);
  const artifactKey = train.OutputDataConfig.KmsKeyId;
  const volumeKey = train.ResourceConfig.VolumeKmsKeyId;
  expect(artifactKey).toMatch(/^arn:aws:kms:.*:key\/models$/);
  // SageMaker's OutputDataConfig.KmsKeyId: the role needs kms:Encrypt (and S3 asks GenerateDataKey for it).
  for (const action of ['kms:Encrypt', 'kms:GenerateDataKey'])
    expect({ action, allowed: role.allows({ action, resource: artifactKey }) }).toEqual({ action, allowed: true });
  expect(role.allows({ action: 'kms:CreateGrant', resource: volumeKey })).toBe(true);
});

/** The endpoint service (`com.amazonaws.<region>.<name>`) each IAM service prefix is reached through. */
const ENDPOINT_OF: Record<string, string> = {
  s3: 's3',
  kms: 'kms',
  sns: 'sns',
  lambda: 'lambda',
  cloudwatch: 'monitoring',
  sagemaker: 'sagemaker.api',
  states: 'states',
  sts: 'sts',
};
/** Called by the Lambda service for the function, not from its network interfaces. */
const SERVICE_SIDE = new Set(['xray', 'logs']);

describe.each(['dev', 'prod'])('%s network coverage', (envName) => {
  test('every service a VPC-attached function may call has an endpoint in the VPC', () => {
    const stage = stages[envName];
    const resolve = resolverFor(stage);
    const endpoints = new Set(
      Object.values(Template.fromStack(stage.network).findResources('AWS::EC2::VPCEndpoint')).map((e) =>
        resolve(e.Properties.ServiceName).replace(`com.amazonaws.${stage.region}.`, ''),
      ),
    );
    const missing: string[] = [];
    for (const stack of [stage.retraining, stage.serving]) {
      const template = Template.fromStack(stack);
      for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
        if (!fn.Properties.VpcConfig) continue;
        const roleId = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
        const services = new Set(
          rolePolicy(template, roleId, resolve)
            .statements.flatMap((s) => s.actions)
            .map((action) => action.split(':')[0])
            .filter((service) => !SERVICE_SIDE.has(service)),
        );
        for (const service of services) {
          const endpoint = ENDPOINT_OF[service];
          if (!endpoint || !endpoints.has(endpoint)) missing.push(`${id} calls ${service}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
