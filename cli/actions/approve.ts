/**
 * `mlp approve MODEL_VERSION --reason TEXT [--reject] [--local [ENV] | --env ENV]`: the human decision on a
 * candidate waiting at Approve, recorded in the environment's approval trail under the caller's authenticated
 * identity — the operating-system account locally, the caller's IAM identity (STS GetCallerIdentity) in AWS — and
 * only then given to the waiting execution. Locally the run waits in `mlp retrain --local prod --wait-for-approval`
 * and reads the decision from the trail; in AWS the command finds the execution in the version's approval request,
 * takes the waiting task's token from the execution's history and answers it (SendTaskSuccess, or SendTaskFailure
 * ApprovalRejected). Deploy then ships only a version whose trail holds the approval, with that principal as the
 * approver the registry records.
 */
import type * as SfnSdk from '@aws-sdk/client-sfn';
import { approvalReasonProblem, approverProblem } from '../../contracts/registry-fields';
import { APPROVAL_REJECTED } from '../../contracts/retraining-states';
import { type EnvironmentConfig, loadEnvironment } from '../../config';
import { localPrincipal } from '../../local/local-approval-trail';
import { decideLocally } from '../../local/local-approval-waits';
import { mlpHome } from '../../local/local-home';
import {
  NotWaitingForApproval,
  recordApprovalDecision,
  waitingRequest,
} from '../../stepfunctions/governance/approval-decision';
import type { ApprovalTrail, TrailEntry, TrailPrincipal } from '../../stepfunctions/governance/approval-trail';
import { approvalRejectionCause } from '../../stepfunctions/retraining-outcome';
import { sdkErrorSummary } from '../../stepfunctions/sdk-error';
import { CommandError, UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { targetOf, type TargetOptions } from '../commands/options';
import { targetTrail } from './audit';

/** Options of `mlp approve`. */
export interface ApproveOptions extends TargetOptions {
  readonly reason: string;
  readonly reject?: boolean;
  readonly json?: boolean;
}

/** `mlp approve`. */
export async function approve(modelVersion: string, options: ApproveOptions): Promise<void> {
  const target = targetOf(options);
  const config = loadEnvironment(target.env);
  if (!config.retraining.requireApproval) {
    throw new UsageError(`${config.name} promotes without a human approval: no version of it waits for one`);
  }
  const reasonProblem = options.reason.trim() ? approvalReasonProblem(options.reason) : 'the reason is empty';
  if (reasonProblem) throw new UsageError(`--reason: ${reasonProblem}`);
  const decision = { approve: !options.reject, reason: options.reason };
  const { trail } = await targetTrail(options);
  let entry: TrailEntry;
  try {
    entry =
      target.kind === 'local'
        ? await decideLocally(trail, { home: mlpHome(), envName: config.name }, modelVersion, {
            ...decision,
            principal: localPrincipal(),
          })
        : await decideInAws(config, trail, modelVersion, decision);
  } catch (error) {
    if (error instanceof NotWaitingForApproval) {
      throw new CommandError(error.message, `mlp audit --${target.kind === 'local' ? 'local' : 'env'} ${config.name}`);
    }
    throw error;
  }
  const principal = `${entry.principal.kind}:${entry.principal.id}`;
  new CommandOutput(options).result(
    {
      environment: config.name,
      location: target.kind,
      modelVersion,
      decision: entry.event,
      principal,
      reason: entry.reason,
      trailEntry: entry.sequence,
    },
    {
      human: () =>
        `${modelVersion} ${entry.event} by ${principal} (trail entry #${entry.sequence}): ` +
        (options.reject ? 'the champion keeps serving' : 'the deployment continues (canary first)'),
    },
  );
}

/**
 * AWS: the caller's identity, the waiting execution's task token, the trail entry, then the answer. The entry goes
 * first: an answer the execution no longer takes leaves a recorded decision that nothing acted on (named in the
 * error), never a deployment without its record.
 */
async function decideInAws(
  config: EnvironmentConfig,
  trail: ApprovalTrail,
  modelVersion: string,
  decision: { readonly approve: boolean; readonly reason: string },
): Promise<TrailEntry> {
  const [{ STSClient, GetCallerIdentityCommand }, sfn] = await Promise.all([
    import('@aws-sdk/client-sts'),
    import('@aws-sdk/client-sfn'),
  ]);
  const request = waitingRequest(await trail.entries(), modelVersion, config.name);
  const executionArn = request.details?.execution;
  if (typeof executionArn !== 'string') {
    throw new NotWaitingForApproval(`${modelVersion}'s approval request (#${request.sequence}) names no execution`);
  }
  const client = new sfn.SFNClient({ region: config.region });
  const execution = await client.send(new sfn.DescribeExecutionCommand({ executionArn }));
  if (execution.status !== 'RUNNING') {
    throw new NotWaitingForApproval(
      `${modelVersion} is not waiting for approval: its execution ${execution.name ?? executionArn} is ` +
        `${execution.status}`,
    );
  }
  const taskToken = await waitingTaskToken(client, sfn, executionArn, modelVersion);
  const identity = await new STSClient({ region: config.region }).send(new GetCallerIdentityCommand({}));
  const arn = identity.Arn ?? '';
  const problem = approverProblem(arn);
  if (problem) throw new UsageError(`your identity ${arn} cannot be recorded as the approver: ${problem}`);
  const principal: TrailPrincipal = { kind: 'iam', id: arn };
  const entry = await recordApprovalDecision(trail, config.name, modelVersion, { ...decision, principal });
  try {
    if (decision.approve) {
      await client.send(new sfn.SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ approver: arn }) }));
    } else {
      const cause = approvalRejectionCause({ approver: arn, reason: decision.reason });
      await client.send(new sfn.SendTaskFailureCommand({ taskToken, error: APPROVAL_REJECTED, cause }));
    }
  } catch (error) {
    throw new CommandError(
      `the decision is recorded (trail entry #${entry.sequence}) but execution ${execution.name} did not take it: ` +
        `${sdkErrorSummary(error) ?? (error as Error).message}`,
    );
  }
  return entry;
}

/** The token of the execution's waiting callback task (the Approve state's), from its latest TaskScheduled event. */
async function waitingTaskToken(
  client: SfnSdk.SFNClient,
  sfn: typeof SfnSdk,
  executionArn: string,
  modelVersion: string,
): Promise<string> {
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new sfn.GetExecutionHistoryCommand({ executionArn, reverseOrder: true, nextToken, includeExecutionData: true }),
    );
    for (const event of page.events ?? []) {
      const scheduled = event.taskScheduledEventDetails;
      if (event.type !== 'TaskScheduled' || !scheduled?.resource?.endsWith('.waitForTaskToken')) continue;
      const parameters = JSON.parse(scheduled.parameters ?? '{}') as { Payload?: { taskToken?: unknown } };
      if (typeof parameters.Payload?.taskToken === 'string') return parameters.Payload.taskToken;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  throw new NotWaitingForApproval(
    `${modelVersion} is not waiting for approval: its execution waits on no callback task`,
  );
}
