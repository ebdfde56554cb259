/**
 * `mlp retrain`. `mlp retrain [--local [ENV]]` runs the synthesized state machine locally under
 * `$MLP_HOME`; `mlp retrain --env ENV` starts the deployed state machine with the AWS SDK and follows it to the end.
 */
import { approvalReasonProblem, approverProblem } from '../../contracts/registry-fields';
import { type EnvironmentConfig, loadEnvironment } from '../../config';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { readChampion } from '../../stepfunctions/champion';
import { localLayout, localSettings, mlpHome } from '../../local/local-home';
import { type LocalApproval, runLocalRetraining } from '../../local/local-retraining';
import { trainingPythonProblem } from '../../local/local-training';
import { retrainingOutcome } from '../../stepfunctions/retraining-outcome';
import { ReportedOutcome, UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { targetOf, type TargetOptions } from '../commands/options';
import { stackOutput } from './aws-stack';
import { outcomeExitCode, outcomeLines, retrainingProgress, type StateTiming } from './retraining-report';

/** Options of `mlp retrain`. */
export interface RetrainOptions extends TargetOptions {
  readonly manifest?: string;
  readonly approveAs?: string;
  readonly rejectAs?: string;
  readonly reason?: string;
  /** Local runs needing approval: wait at Approve for `mlp approve VERSION --local ENV`. */
  readonly waitForApproval?: boolean;
  readonly json?: boolean;
}

/** The approval decision the options give, checked against the environment. */
export function approvalOf(options: RetrainOptions, config: EnvironmentConfig): LocalApproval | undefined {
  if (options.reason !== undefined && options.rejectAs === undefined) {
    throw new UsageError('--reason goes with --reject-as NAME');
  }
  if (options.rejectAs !== undefined && !options.reason?.trim()) {
    throw new UsageError('--reject-as needs --reason TEXT: a rejection is recorded with why');
  }
  const given = options.approveAs ?? options.rejectAs;
  if (options.waitForApproval) {
    if (given !== undefined)
      throw new UsageError('--wait-for-approval waits for mlp approve: give no --approve-as or --reject-as');
    if (!config.retraining.requireApproval) {
      throw new UsageError(
        `${config.name} promotes without a human approval, so --wait-for-approval does not apply to it`,
      );
    }
    return { wait: true };
  }
  if (given === undefined) return undefined;
  if (!given.trim()) throw new UsageError('the approver needs a name');
  checkDecisionFields(given, options.reason);
  if (!config.retraining.requireApproval) {
    throw new UsageError(
      `${config.name} promotes without a human approval, so --approve-as and --reject-as do not apply to it`,
    );
  }
  return options.approveAs !== undefined
    ? { approver: options.approveAs }
    : { rejectedBy: options.rejectAs!, reason: options.reason! };
}

/** `mlp retrain`. */
export async function retrain(options: RetrainOptions): Promise<void> {
  const target = targetOf(options);
  const config = loadEnvironment(target.env);
  if (target.kind === 'aws') {
    if (options.approveAs !== undefined || options.rejectAs !== undefined || options.waitForApproval) {
      throw new UsageError(
        '--approve-as, --reject-as and --wait-for-approval are for local runs; a deployed execution always waits ' +
          'at Approve for mlp approve VERSION --env ENV',
      );
    }
    return retrainInAws(config, options);
  }
  const approval = approvalOf(options, config);
  const problem = trainingPythonProblem();
  if (problem) throw new UsageError(problem);
  const home = mlpHome();
  const out = new CommandOutput(options);
  const progress = out.progress();
  const started = Date.now();
  const { onEvent, states } = retrainingProgress(progress, { synthesizes: true });
  const run = await runLocalRetraining({
    config,
    home,
    input: options.manifest ? { manifestKey: options.manifest, trigger: 'manual' } : { trigger: 'manual' },
    onEvent,
    approval,
  }).finally(() => progress.stop());
  const outcome = retrainingOutcome(run.status, run.output, run.error);
  const layout = localLayout(home, config.name);
  const champion = await readChampion(new LocalArtifactStore(layout.objects), localSettings(config));
  const result = {
    ...outcome,
    environment: config.name,
    location: 'local' as const,
    home,
    executionName: run.executionName,
    champion: champion?.modelVersion ?? null,
    states,
    seconds: (Date.now() - started) / 1000,
  };
  out.result(result, {
    human: (r) => [...outcomeLines(outcome, r.champion ?? undefined), `  ${timingLine(r.states, r.seconds)}`],
  });
  const code = outcomeExitCode(outcome);
  if (code !== 0) throw new ReportedOutcome(code, outcome.outcome);
}

/** `Validate 0.1 s, Prepare 1.2 s, … in 12.3 s`. */
function timingLine(states: readonly StateTiming[], total: number): string {
  const shown = states.filter((s) => s.seconds >= 0.05).map((s) => `${s.state} ${s.seconds.toFixed(1)} s`);
  return `${shown.join(', ')}${shown.length ? '; ' : ''}${total.toFixed(1)} s in all`;
}

/** Starts the deployed state machine and follows the execution to its end, state by state. */
async function retrainInAws(config: EnvironmentConfig, options: RetrainOptions): Promise<void> {
  const sfn = await import('@aws-sdk/client-sfn');
  const client = new sfn.SFNClient({ region: config.region });
  const out = new CommandOutput(options);
  const stateMachineArn = await stackOutput(config.name, 'stateMachineArn', config.region);
  const input = options.manifest ? { manifestKey: options.manifest, trigger: 'manual' } : { trigger: 'manual' };
  const { executionArn } = await client.send(
    new sfn.StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  out.note(`started ${executionArn}`, { executionArn });
  const progress = out.progress();
  const { onEvent, states } = retrainingProgress(progress, { synthesizes: false });
  const started = Date.now();
  const entered = new Map<string, number>();
  let seen = 0; // id of the last history event reported
  let described;
  try {
    for (;;) {
      described = await client.send(new sfn.DescribeExecutionCommand({ executionArn }));
      // The state changes since the last poll, oldest first (the history is paged; ids only grow).
      let nextToken: string | undefined;
      do {
        const page = await client.send(new sfn.GetExecutionHistoryCommand({ executionArn, nextToken }));
        for (const event of page.events ?? []) {
          if ((event.id ?? 0) <= seen) continue;
          seen = event.id ?? seen;
          const at = event.timestamp?.getTime() ?? Date.now();
          const name = event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;
          if (!name) continue;
          if (event.stateEnteredEventDetails) {
            entered.set(name, at);
            onEvent({ type: 'state-entered', state: name });
          } else {
            onEvent({ type: 'state-exited', state: name, seconds: (at - (entered.get(name) ?? at)) / 1000 });
          }
        }
        nextToken = page.nextToken;
      } while (nextToken);
      if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  } finally {
    progress.stop();
  }
  const status = described.status as 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  const output = described.output ? (JSON.parse(described.output) as unknown) : undefined;
  const outcome = retrainingOutcome(status, output, { name: described.error, cause: described.cause });
  const result = {
    ...outcome,
    environment: config.name,
    location: 'aws' as const,
    executionArn,
    states,
    seconds: (Date.now() - started) / 1000,
  };
  out.result(result, { human: (r) => [...outcomeLines(outcome), `  ${timingLine(r.states, r.seconds)}`] });
  const code = outcomeExitCode(outcome);
  if (code !== 0) throw new ReportedOutcome(code, outcome.outcome);
}

/** Refuses, before anything is sent, an approver or reason the model registry would refuse to record. */
function checkDecisionFields(approver: string, reason: string | undefined): void {
  const problem = approverProblem(approver) ?? (reason === undefined ? null : approvalReasonProblem(reason));
  if (problem) throw new UsageError(problem);
}
