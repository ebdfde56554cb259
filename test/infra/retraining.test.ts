/** The synthesized retraining state machine: locked-down training, Retry/Catch everywhere, approval in prod only. */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { athenaWorkGroupName, glueDatabaseName } from '../../contracts/resource-names';
import { glueTableInput, catalogTableOf } from '../../stepfunctions/curated/table-catalog';
import { unloadStatement } from '../../stepfunctions/curated/training-set';
import { localSettings } from '../../local/local-home';
import { loadEnvironment } from '../../config';
import { validateRequests } from '../support/aws/api-models';
import { athenaEnvironments, synthesizePlatform } from '../support/platform';

jest.setTimeout(120_000);

const { stages } = synthesizePlatform(['dev', 'prod']);
const athena = synthesizePlatform(['dev'], athenaEnvironments()).stages.dev;

/** A reference inside the definition, as it renders there: its CloudFormation JSON between markers. */
const reference = (value: unknown) => `REF(${Buffer.from(JSON.stringify(value)).toString('base64')})`;

function definitionOf(env: string, stage = stages[env]) {
  const template = Template.fromStack(stage.retraining);
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines) as { Properties: { DefinitionString: unknown } }[];
  // Render Fn::Join, each reference as a marker that says which reference it is.
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join) return join[1].map(render).join(join[0]);
    return reference(value);
  };
  return JSON.parse(render(machine.Properties.DefinitionString)) as {
    StartAt: string;
    QueryLanguage?: string;
    States: Record<string, Record<string, unknown>>;
  };
}

test('every Task state retries with jittered backoff and catches into notify-and-fail', () => {
  const { States, QueryLanguage } = definitionOf('dev');
  // The local runner ignores JSONata: the whole definition stays on JSONPath.
  expect(QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  for (const state of Object.values(States)) expect(state.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  const tasks = Object.entries(States).filter(([, s]) => s.Type === 'Task');
  expect(tasks.map(([name]) => name).sort()).toEqual(
    [
      'Deploy',
      'Evaluate',
      'FinishDeploy',
      'Gate',
      'NotifyFailure',
      'Prepare',
      'RecordRejection',
      'Register',
      'RollBackDeploy',
      'Train',
      'ValidateManifest',
    ].sort(),
  );
  for (const [name, state] of tasks) {
    const retry = state.Retry as { JitterStrategy?: string; BackoffRate?: number }[];
    expect({ name, jitter: retry?.[0]?.JitterStrategy }).toEqual({ name, jitter: 'FULL' });
    const catchers = state.Catch as { ErrorEquals: string[]; Next: string }[];
    // Deploy's and FinishDeploy's failures go through RollBackDeploy, which then notifies.
    const target =
      name === 'NotifyFailure'
        ? 'RetrainingFailed'
        : name === 'FinishDeploy' || name === 'Deploy'
          ? 'RollBackDeploy'
          : 'NotifyFailure';
    expect(catchers.some((c) => c.ErrorEquals.includes('States.ALL') && c.Next === target)).toBe(true);
  }
  expect(States.RetrainingFailed).toMatchObject({
    Type: 'Fail',
    ErrorPath: '$.error.Error',
    CausePath: '$.error.Cause',
  });
});

test("ValidateManifest receives the execution's input whole: the manifest an S3 event or a user named", () => {
  const { StartAt, States } = definitionOf('dev');
  expect(StartAt).toBe('ValidateManifest');
  // No Parameters: a LambdaInvoke's payload then is the state input. `"Parameters": "$"` would hand it the string "$".
  expect(States.ValidateManifest).not.toHaveProperty('Parameters');
  expect(States.ValidateManifest).not.toHaveProperty('InputPath');
  for (const [name, state] of Object.entries(States)) {
    expect({ name, parameters: typeof state.Parameters }).not.toEqual({ name, parameters: 'string' });
  }
});

test('training runs SageMaker XGBoost 1.7-1 as RUN_JOB, isolated, encrypted, in the VPC, tagged', () => {
  const { Train } = definitionOf('dev').States;
  expect(Train.Resource).toMatch(/:states:::sagemaker:createTrainingJob\.sync$/);
  const p = Train.Parameters as Record<string, Record<string, unknown> & unknown[]>;
  expect(p.EnableNetworkIsolation).toBe(true);
  expect(p.EnableInterContainerTrafficEncryption).toBe(true);
  expect(p.AlgorithmSpecification.TrainingImage).toBe(
    '764974769150.dkr.ecr.eu-west-2.amazonaws.com/sagemaker-xgboost:1.7-1',
  );
  // The training volume and the model artifact are encrypted with the models key; the job runs in the isolated subnets.
  const { retraining, keys, network } = stages.dev;
  const modelsKey = reference(retraining.resolve(keys.modelsKey.keyArn));
  expect(p.ResourceConfig.VolumeKmsKeyId).toBe(modelsKey);
  expect(p.OutputDataConfig.KmsKeyId).toBe(modelsKey);
  const isolated = network.vpc.isolatedSubnets.map((s) => reference(retraining.resolve(s.subnetId)));
  expect(isolated.length).toBeGreaterThanOrEqual(2);
  expect([...(p.VpcConfig.Subnets as unknown as string[])].sort()).toEqual([...isolated].sort());
  for (const channel of p.InputDataConfig as { ContentType: string }[]) expect(channel.ContentType).toBe('text/csv');
  expect((p.HyperParameters as Record<string, unknown>).early_stopping_rounds).toBe('20');
  // SageMaker refuses metric definitions for a built-in algorithm, which reports its own.
  expect(p.AlgorithmSpecification).not.toHaveProperty('MetricDefinitions');
  expect(JSON.stringify(p.Tags)).toContain('mlp:dataset-version');
});

test('the approval step exists in prod only', () => {
  expect(definitionOf('dev').States.Approve).toBeUndefined();
  const prod = definitionOf('prod').States;
  expect(prod.Approve.Resource).toMatch(/waitForTaskToken$/);
  expect((prod['Promote?'].Choices as { Next: string }[])[0].Next).toBe('Approve');
});

test('manifests, the schedule and drift alarms start executions', () => {
  const template = Template.fromStack(stages.dev.retraining);
  template.resourceCountIs('AWS::Events::Rule', 2);
  template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 3 ? * MON *)' });
  Template.fromStack(stages.dev.data).hasResourceProperties('AWS::S3::Bucket', {
    NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
  });
});

describe('engine athena', () => {
  const { States } = definitionOf('dev', athena);
  const template = Template.fromStack(athena.retraining);

  test('MergeExtract → QueryTrainingSet (Athena .sync in the workgroup) → Prepare replaces Prepare alone', () => {
    expect(States.ValidateManifest.Next).toBe('MergeExtract');
    expect(States.MergeExtract.Next).toBe('QueryTrainingSet');
    expect(States.QueryTrainingSet.Next).toBe('Prepare');
    // Both run in Prepare's function: MergeExtract asks for the merge stage, Prepare gets what it merged.
    expect(States.MergeExtract.Resource).toBe(States.Prepare.Resource);
    expect(States.MergeExtract.Parameters).toMatchObject({ stage: 'merge' });
    expect(States.Prepare.Parameters).toMatchObject({ 'merged.$': '$.merged' });
    const query = States.QueryTrainingSet;
    expect(query.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
    expect(query.Parameters).toEqual({
      'QueryString.$': '$.merged.queryString',
      'ClientRequestToken.$': '$.merged.clientRequestToken',
      WorkGroup: athenaWorkGroupName('dev'),
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: glueDatabaseName('dev') },
    });
    // A failure reaches NotifyFailure with its error name, and a fixed cause in place of Athena's reason.
    expect(query.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'TrainingSetQueryFailed' },
    ]);
    expect(States.TrainingSetQueryFailed).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.error',
      Next: 'NotifyFailure',
      Parameters: { 'Error.$': '$.error.Error', 'Cause.$': expect.stringMatching(/^States\.Format\('Athena did not/) },
    });
    // A query that ran may have written to its prefix: only refused starts are retried.
    expect((query.Retry as { ErrorEquals: string[] }[])[0].ErrorEquals).toEqual([
      'Athena.TooManyRequestsException',
      'Athena.InternalServerException',
    ]);
    // The duckdb environments keep Prepare alone.
    expect(definitionOf('dev').States.MergeExtract).toBeUndefined();
  });

  test('the workgroup enforces engine 3, results encrypted with the landing key under the curated bucket, a scan cap', () => {
    const landingKey = athena.retraining.resolve(athena.keys.landingKey.keyArn);
    const curatedBucket = athena.retraining.resolve(athena.data.curatedBucket.bucketName);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: athenaWorkGroupName('dev'),
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        BytesScannedCutoffPerQuery: 1024 ** 4,
        ResultConfiguration: {
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: landingKey },
          OutputLocation: { 'Fn::Join': ['', ['s3://', curatedBucket, '/_athena/results/']] },
        },
      },
    });
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: glueDatabaseName('dev') } });
    Template.fromStack(stages.dev.retraining).resourceCountIs('AWS::Athena::WorkGroup', 0);
    // Athena's scratch expires; Glue and Athena are reachable inside the VPC.
    Template.fromStack(athena.data).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: '_athena/', ExpirationInDays: 7, Status: 'Enabled' })]),
      },
    });
    const endpoints = Template.fromStack(athena.network).findResources('AWS::EC2::VPCEndpoint');
    const services = Object.values(endpoints).map((e) => JSON.stringify(e.Properties.ServiceName));
    expect(services.some((s) => s.includes('.glue'))).toBe(true);
    expect(services.some((s) => s.includes('.athena'))).toBe(true);
  });

  test("the query Athena is sent and the table Prepare registers are requests of AWS's own API models", () => {
    const settings = localSettings(loadEnvironment('dev', athenaEnvironments()));
    const table = catalogTableOf(settings, {
      kid: 'k-2026.1',
      schema: { loan_id: 'string', originated_on: 'string', loan_amount: 'number', n_accounts: 'integer' },
    });
    expect(table.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      'loan_id:string',
      'originated_on:string',
      'loan_amount:double',
      'n_accounts:bigint',
      '_manifest_seq:int',
      '_manifest:string',
    ]);
    // The state's parameters with its path resolved as MergeExtract's result would resolve it.
    const {
      'QueryString.$': path,
      'ClientRequestToken.$': tokenPath,
      ...fixed
    } = States.QueryTrainingSet.Parameters as Record<string, unknown>;
    expect([path, tokenPath]).toEqual(['$.merged.queryString', '$.merged.clientRequestToken']);
    const parameters = {
      ...fixed,
      QueryString: unloadStatement('SELECT 1', 's3://bucket/_athena/unload/loans/v/e/'),
      ClientRequestToken: 'f'.repeat(64),
    };
    expect(
      validateRequests([
        { caller: 'QueryTrainingSet', service: 'athena', operation: 'StartQueryExecution', params: parameters },
        {
          caller: 'MergeExtract',
          service: 'glue',
          operation: 'CreateTable',
          params: { DatabaseName: table.database, TableInput: glueTableInput(table) },
        },
      ]),
    ).toEqual([]);
  });
});
