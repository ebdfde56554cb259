/**
 * `mlp retrain --local`: runs the retraining state machine **as CDK synthesizes it** with aws-local-stepfunctions.
 * The definition is taken from the synthesized template of the environment's Retraining stack, its
 * CloudFormation intrinsics resolved to local placeholders, and each Task state is overridden by name: the
 * Lambda states call the same step handlers in-process, Train runs XGBoost 1.7.4 under the built-in
 * container's contract, Register writes the local registry, NotifyFailure appends to a local log, and (engine
 * `athena`) QueryTrainingSet runs its UNLOAD on the local Athena over the local Glue catalog. Waits and
 * retry intervals are shortened to zero; everything else (paths, choices, retries, catches) is the real thing.
 *
 * All state lives under one directory, `$MLP_HOME` (default `.mlp/`), each environment in its own twin there
 * (see local-home.ts): its buckets under `s3/`, `registry/<env>.json`, `serving/<env>/`, `logs/<env>/`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { EnvironmentConfig } from '../config';
import { type CfnValue, synthesizedRetrainingDefinition } from '../lib/retraining/synthesized-definition';
import { stateMachineName } from '../contracts/resource-names';
import { APPROVAL_REJECTED, STATE } from '../contracts/retraining-states';
import { LocalArtifactStore } from './local-artifact-store';
import { LocalAthena, type StartQueryExecutionRequest } from './local-athena';
import { LocalTableCatalog } from './local-table-catalog';
import type { CreateModelPackageRequest } from '../stepfunctions/model-registry';
import { LocalModelRegistry } from './local-model-registry';
import { retrainingSteps, type DeployerEvent } from '../stepfunctions/retraining-steps';
import { LocalScorerDeployment } from './local-scorer-deployment';
import { localLayout, localSettings } from './local-home';
import { runLocalTrainingJob, type TrainingJobRequest, type TrainingRound } from './local-training';
import { approvalRejectionCause } from '../stepfunctions/retraining-outcome';
import {
  recordApprovalRequest,
  stateMachinePrincipal,
  type TrailEntry,
} from '../stepfunctions/governance/approval-trail';
import { recordApprovalDecision } from '../stepfunctions/governance/approval-decision';
import { awaitLocalDecision } from './local-approval-waits';
import { localApprovalTrail, localPrincipal } from './local-approval-trail';

type Json = CfnValue;

/** The retraining state machine's definition as CDK synthesizes it for the environment, intrinsics resolved. */
export function synthesizedDefinition(config: EnvironmentConfig): Record<string, unknown> {
  const text = resolveIntrinsics(synthesizedRetrainingDefinition(config), config);
  if (typeof text !== 'string') throw new Error('the state machine definition did not resolve to a string');
  return JSON.parse(text) as Record<string, unknown>;
}

/** Pseudo parameters of an environment. */
function pseudoParameters(config: EnvironmentConfig): Record<string, string> {
  return {
    'AWS::Partition': 'aws',
    'AWS::Region': config.region,
    'AWS::AccountId': config.account,
    'AWS::URLSuffix': 'amazonaws.com',
  };
}

/**
 * Resolves CloudFormation intrinsics to local values: pseudo parameters to the environment's, references to
 * other resources and stacks to `local:` placeholders (the overridden states never use them). An intrinsic
 * this does not know stops the run rather than leaking an object into the definition.
 */
export function resolveIntrinsics(value: Json, config: EnvironmentConfig): Json {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, config));
  if (value === null || typeof value !== 'object') return value;
  const [fn, ...others] = Object.keys(value);
  if (others.length === 0 && (fn === 'Ref' || fn.startsWith('Fn::'))) {
    const arg = value[fn];
    switch (fn) {
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, Json[]];
        return parts.map((p) => String(resolveIntrinsics(p, config))).join(separator);
      }
      case 'Ref':
        return pseudoParameters(config)[arg as string] ?? `local:${String(arg)}`;
      case 'Fn::GetAtt':
        return `local:${(arg as string[]).join('.')}`;
      case 'Fn::ImportValue':
        return `local:${String(resolveIntrinsics(arg, config))}`;
      case 'Fn::GetStackOutput':
        return `local:${(arg as { OutputName: string }).OutputName}`;
      default:
        throw new Error(`the state machine definition uses ${fn}, which the local runner does not resolve`);
    }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v, config)]));
}

/** Outcome of a local execution. */
export interface LocalRetrainingResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly executionName: string;
  /** Final state output (succeeded) — the whole execution state. */
  readonly output?: Record<string, unknown>;
  /** Failure name and reason (failed). */
  readonly error?: { readonly name: string; readonly cause: string };
  /** States entered, in order. */
  readonly path: string[];
}

/** What a local execution reports as it runs. */
export type RetrainingEvent =
  | { readonly type: 'state-entered'; readonly state: string }
  | { readonly type: 'state-exited'; readonly state: string; readonly seconds: number }
  | { readonly type: 'state-failed'; readonly state: string; readonly seconds: number; readonly error: string }
  | { readonly type: 'training-round'; readonly state: string; readonly round: TrainingRound; readonly total?: number }
  | {
      readonly type: 'approval-waiting';
      readonly state: string;
      readonly modelVersion: string;
      readonly environment: string;
    };

/**
 * The human decision at Approve, where the environment requires one (prod): taken up front (approve, or decline
 * with a reason, recorded under the operating-system account with the given name in the reason), or waited for
 * (`wait`: another `mlp approve VERSION --local ENV` records it in the trail). Without one the Approve state fails
 * with ApprovalRejected, as a human declining would, and the candidate is recorded as Rejected by nobody.
 */
export type LocalApproval =
  | { readonly approver: string }
  | { readonly rejectedBy: string; readonly reason: string }
  | { readonly wait: true; readonly pollMs?: number; readonly signal?: AbortSignal };

/** Options of {@link runLocalRetraining}. */
export interface LocalRetrainingOptions {
  readonly config: EnvironmentConfig;
  readonly home: string;
  /** Execution input (`manifestKey`, `trigger`); default: the dataset's latest manifest. */
  readonly input?: Record<string, unknown>;
  readonly now?: () => Date;
  /** The execution's name; default: `local-<time>-<pid>`. */
  readonly executionName?: string;
  /** Hears states entered and left and each training round. */
  readonly onEvent?: (event: RetrainingEvent) => void;
  readonly approval?: LocalApproval;
}

/** aws-local-stepfunctions 3 uses Promise.withResolvers, which Node 20 lacks. */
export function polyfillWithResolvers(): void {
  if (typeof (Promise as { withResolvers?: unknown }).withResolvers === 'function') return;
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<T>() {
    let resolveFn!: (value: T) => void;
    let rejectFn!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolveFn = res;
      rejectFn = rej;
    });
    return { promise, resolve: resolveFn, reject: rejectFn };
  };
}

/** Runs one retraining execution locally, to the end. */
export async function runLocalRetraining(options: LocalRetrainingOptions): Promise<LocalRetrainingResult> {
  polyfillWithResolvers();
  const { config } = options;
  const now = options.now ?? (() => new Date());
  const layout = localLayout(options.home, config.name);
  mkdirSync(layout.logs, { recursive: true });
  const store = new LocalArtifactStore(layout.objects);
  const settings = localSettings(config);
  const registry = new LocalModelRegistry(layout.registry, now);
  const scorer = new LocalScorerDeployment(layout.serving, (uri) => store.pathOf(uri), now);
  const catalog = new LocalTableCatalog(layout.catalog);
  const athena = new LocalAthena(store, catalog);
  const trail = localApprovalTrail(options.home, config.name, now);
  const steps = retrainingSteps({ store, settings, registry, scorer, catalog, trail, now });
  const definition = synthesizedDefinition(config);

  const executionName = options.executionName ?? `local-${now().toISOString().replace(/[-:.]/g, '')}-${process.pid}`;
  const notifications = join(layout.logs, 'notifications.log');
  const overrides = {
    [STATE.validate]: steps.ValidateManifest,
    [STATE.mergeExtract]: steps.MergeExtract,
    [STATE.queryTrainingSet]: (input: unknown) => athena.startQueryExecutionSync(input as StartQueryExecutionRequest),
    [STATE.prepare]: steps.Prepare,
    [STATE.evaluate]: steps.Evaluate,
    [STATE.gate]: steps.Gate,
    [STATE.recordRejection]: (input: unknown) => steps.deployer(input as DeployerEvent),
    [STATE.deploy]: (input: unknown) => steps.deployer(input as DeployerEvent),
    [STATE.finishDeploy]: (input: unknown) => steps.deployer(input as DeployerEvent),
    [STATE.rollBackDeploy]: (input: unknown) => steps.deployer(input as DeployerEvent),
    [STATE.train]: (input: unknown) => {
      const request = input as TrainingJobRequest;
      const total = Number(request.HyperParameters?.num_round) || undefined;
      return runLocalTrainingJob(request, store, join(layout.logs, 'training'), (round) =>
        options.onEvent?.({ type: 'training-round', state: STATE.train, round, total }),
      );
    },
    [STATE.register]: async (input: unknown) => ({
      ModelPackageArn: await registry.register(input as CreateModelPackageRequest),
    }),
    [STATE.approve]: async (input: unknown) => {
      const request = ((input as { Payload?: unknown }).Payload ?? input) as {
        modelPackageArn: string;
        execution?: string;
      };
      const { modelVersion } = await recordApprovalRequest(trail, config.name, request);
      const approval = options.approval;
      let decision: TrailEntry;
      if (approval && 'wait' in approval) {
        const where = { home: options.home, envName: config.name, execution: request.execution ?? executionName };
        options.onEvent?.({ type: 'approval-waiting', state: STATE.approve, modelVersion, environment: config.name });
        decision = await awaitLocalDecision(trail, where, modelVersion, approval);
      } else if (approval) {
        // Taken up front: recorded as the account that ran the command, the name it gave in the reason.
        const approve = 'approver' in approval;
        decision = await recordApprovalDecision(trail, config.name, modelVersion, {
          approve,
          principal: localPrincipal(),
          reason: approve
            ? `approved as ${approval.approver}`
            : `rejected as ${approval.rejectedBy}: ${approval.reason}`,
        });
      } else {
        const reason = 'no approver was given (mlp retrain --local prod --wait-for-approval, then mlp approve)';
        await recordApprovalDecision(trail, config.name, modelVersion, {
          approve: false,
          principal: stateMachinePrincipal(config.name),
          reason,
        });
        throw Object.assign(new Error(approvalRejectionCause({ reason })), { name: APPROVAL_REJECTED });
      }
      const approver = decision.principal.id;
      if (decision.event === 'approved') return { approver };
      const cause = approvalRejectionCause({ approver, reason: decision.reason ?? 'no reason recorded' });
      throw Object.assign(new Error(cause), { name: APPROVAL_REJECTED });
    },
    [STATE.notifyFailure]: async (input: unknown) => {
      const message = (input as { Message?: unknown }).Message ?? input;
      appendFileSync(notifications, `${now().toISOString()} ${JSON.stringify(message)}\n`);
      return { MessageId: `local-${Date.now()}` };
    },
  } as Record<string, (input: never) => Promise<unknown>>;

  const states = Object.keys((definition as { States: Record<string, unknown> }).States);
  const machine = new StateMachine(definition as never, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  const execution = machine.run((options.input ?? {}) as never, {
    overrides: {
      taskResourceLocalHandlers: overrides as never,
      waitTimeOverrides: Object.fromEntries(states.map((s) => [s, 0])),
      retryIntervalOverrides: Object.fromEntries(states.map((s) => [s, 0])),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:local:000000000000:execution:${stateMachineName(config.name)}:${executionName}`,
        Name: executionName,
      },
      // The runner has no task tokens of its own; the one wait-for-token state (Approve) is overridden above.
      Task: { Token: `local-task-token-${executionName}` },
    } as never,
  });
  const path: string[] = [];
  const entered = new Map<string, number>();
  const secondsIn = (state: string) => (Date.now() - (entered.get(state) ?? Date.now())) / 1000;
  const watching = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        path.push(event.state.name);
        entered.set(event.state.name, Date.now());
        options.onEvent?.({ type: 'state-entered', state: event.state.name });
      } else if (event.type === 'StateExited') {
        options.onEvent?.({ type: 'state-exited', state: event.state.name, seconds: secondsIn(event.state.name) });
      } else if (event.type === 'StateFailed') {
        const { name } = event.state;
        options.onEvent?.({ type: 'state-failed', state: name, seconds: secondsIn(name), error: event.Error });
      }
    }
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await watching;
    return { status: 'SUCCEEDED', executionName, output, path };
  } catch (error) {
    await watching.catch(() => undefined);
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    return { status: 'FAILED', executionName, error: { name: cause.name, cause: cause.message }, path };
  }
}
