/**
 * Step Functions itself, for the wire-level AWS: runs a state machine definition as synthesized (intrinsics
 * resolved to the world's names) with aws-local-stepfunctions, every Task state doing what the service does for
 * its Resource, through the real SDK clients as the state machine's role: a Lambda ARN is an Invoke (an error
 * becomes the function's `errorType`, its Cause the error JSON), `lambda:invoke.waitForTaskToken` invokes and
 * waits for SendTaskSuccess/SendTaskFailure at the world, `sagemaker:createTrainingJob.sync` creates the job
 * and polls DescribeTrainingJob (asking the EventBridge permissions the service needs to follow a job), and
 * `aws-sdk:<service>:<action>` and `sns:publish` send that call. Waits and retry intervals are shortened to zero.
 */
import {
  CreateModelPackageCommand,
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { StateMachine } from 'aws-local-stepfunctions';
import type { AwsWorld, Caller, WorldExecutionRecord } from './aws-world';

/** How an execution ended, with the states it went through. */
export interface WorldExecution {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: Record<string, unknown>;
  readonly error?: { readonly name: string; readonly cause: string };
  readonly path: string[];
}

/** Options of {@link runWorldExecution}. */
export interface WorldExecutionOptions {
  readonly world: AwsWorld;
  readonly definition: Record<string, unknown>;
  /** The state machine's role. */
  readonly role: Caller;
  readonly stateMachineArn: string;
  readonly input: Record<string, unknown>;
  readonly name: string;
  /** Awaited before a Task state runs (a test sends canary traffic before FinishDeploy). */
  readonly beforeTask?: (state: string, input: unknown) => Promise<void>;
}

interface TaskState {
  readonly Type: string;
  readonly Resource: string;
}

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);

/** Runs one execution to its end. */
export async function runWorldExecution(options: WorldExecutionOptions): Promise<WorldExecution> {
  const { world, role } = options;
  const config = world.clientConfig(role);
  const lambda = new LambdaClient(config);
  const sagemaker = new SageMakerClient(config);
  const sns = new SNSClient(config);
  const token = `token-${options.name}`;
  const states = (options.definition as { States: Record<string, TaskState> }).States;
  const executionArn = `${options.stateMachineArn.replace(':stateMachine:', ':execution:')}:${options.name}`;
  const record: WorldExecutionRecord = {
    executionArn,
    stateMachineArn: options.stateMachineArn,
    name: options.name,
    status: 'RUNNING',
    events: [],
  };
  world.executions.set(executionArn, record);
  const history = (type: string, details: Record<string, unknown> = {}) =>
    record.events.push({ id: record.events.length + 1, type, timestamp: Date.now() / 1000, ...details });
  history('ExecutionStarted');

  const invoke = async (functionName: string, payload: unknown) => {
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }),
    );
    const body = Buffer.from(response.Payload ?? []).toString('utf8');
    if (response.FunctionError) {
      const error = JSON.parse(body) as { errorType: string; errorMessage: string };
      throw Object.assign(new Error(body), { name: error.errorType });
    }
    return JSON.parse(body) as unknown;
  };
  const sdkError = (service: string) => (error: Error) => {
    throw Object.assign(new Error(error.message), { name: `${service}.${error.name}` });
  };

  const handlerFor = (stateName: string, state: TaskState) => async (input: Record<string, unknown>) => {
    await options.beforeTask?.(stateName, input);
    const resource = state.Resource;
    if (/^arn:aws:lambda:/.test(resource)) return invoke(resource, input);
    if (resource.endsWith(':states:::lambda:invoke.waitForTaskToken')) {
      const answered = world.waitForTaskToken(token);
      const region = world.resolver.region;
      const parameters = JSON.stringify(input);
      const resourceName = 'invoke.waitForTaskToken';
      history('TaskScheduled', {
        taskScheduledEventDetails: { resourceType: 'lambda', resource: resourceName, region, parameters },
      });
      await invoke(String(input.FunctionName), input.Payload);
      return answered;
    }
    if (resource.endsWith(':states:::sagemaker:createTrainingJob.sync')) {
      // The service follows a job with a managed EventBridge rule, which it may only manage with the role's leave.
      const rule = `arn:aws:events:${world.resolver.region}:${world.resolver.account}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule`;
      for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
        if (role.policy && !role.policy.allows({ action, resource: rule }))
          throw Object.assign(new Error(`${role.name} may not ${action} ${rule}`), { name: 'States.Runtime' });
      }
      await sagemaker.send(new CreateTrainingJobCommand(input as never)).catch(sdkError('SageMaker'));
      for (;;) {
        const job = await sagemaker
          .send(new DescribeTrainingJobCommand({ TrainingJobName: String(input.TrainingJobName) }))
          .catch(sdkError('SageMaker'));
        if (TERMINAL.has(job.TrainingJobStatus ?? '')) {
          const described = JSON.parse(JSON.stringify(job)) as Record<string, unknown>;
          delete described.$metadata;
          if (job.TrainingJobStatus === 'Completed') return described;
          throw Object.assign(new Error(JSON.stringify(described)), { name: 'States.TaskFailed' });
        }
        await new Promise((done) => setTimeout(done, 200));
      }
    }
    if (resource.endsWith(':states:::aws-sdk:sagemaker:createModelPackage')) {
      const response = await sagemaker.send(new CreateModelPackageCommand(input as never)).catch(sdkError('SageMaker'));
      return { ModelPackageArn: response.ModelPackageArn };
    }
    if (resource.endsWith(':states:::sns:publish')) {
      const message = typeof input.Message === 'string' ? input.Message : JSON.stringify(input.Message);
      const response = await sns
        .send(new PublishCommand({ ...(input as object), Message: message } as never))
        .catch(sdkError('SNS'));
      return { MessageId: response.MessageId };
    }
    throw new Error(`the world's Step Functions does not run ${resource}`);
  };

  const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');
  const machine = new StateMachine(options.definition as never, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  const execution = machine.run(options.input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(tasks.map(([name, s]) => [name, handlerFor(name, s)])) as never,
      waitTimeOverrides: Object.fromEntries(Object.keys(states).map((s) => [s, 0])),
      retryIntervalOverrides: Object.fromEntries(Object.keys(states).map((s) => [s, 0])),
    },
    context: {
      Execution: {
        Id: executionArn,
        Name: options.name,
      },
      Task: { Token: token },
    } as never,
  });
  const path: string[] = [];
  const watching = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type !== 'StateEntered') continue;
      path.push(event.state.name);
      history('TaskStateEntered', { stateEnteredEventDetails: { name: event.state.name } });
    }
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await watching;
    record.status = 'SUCCEEDED';
    return { status: 'SUCCEEDED', output, path };
  } catch (error) {
    await watching.catch(() => undefined);
    record.status = 'FAILED';
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    return { status: 'FAILED', error: { name: cause.name, cause: cause.message }, path };
  }
}
