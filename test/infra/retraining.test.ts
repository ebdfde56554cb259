/** The synthesized retraining state machine: locked-down training, Retry/Catch everywhere, approval in prod only. */
import { Template } from 'aws-cdk-lib/assertions';
import { synthesizePlatform } from '../support/platform';

jest.setTimeout(120_000);

const { stages } = synthesizePlatform(['dev', 'prod']);

/** A reference inside the definition, as it renders there: its CloudFormation JSON between markers. */
const reference = (value: unknown) => `REF(${Buffer.from(JSON.stringify(value)).toString('base64')})`;

function definitionOf(env: string) {
  const template = Template.fromStack(stages[env].retraining);
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
