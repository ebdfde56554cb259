/**
 * How `mlp retrain` and `mlp demo` show a retraining execution: a progress line per state with its duration,
 * training rounds with their validation AUC as they come, then the outcome in words and as an exit code.
 */
import type { ModelMetrics } from '../../stepfunctions/model-metrics';
import type { RetrainingOutcome } from '../../stepfunctions/retraining-outcome';
import type { RetrainingEvent } from '../../local/local-retraining';
import { EXIT } from '../../terminal/errors';
import type { Progress, ProgressTask } from '../../terminal/progress';

/** A state's time, as the result lists it. */
export interface StateTiming {
  readonly state: string;
  readonly seconds: number;
  /** The error it failed with. */
  readonly failed?: string;
}

/**
 * Turns execution events into progress lines; `states` collects each finished state's time. A local run first
 * synthesizes the CDK app for its definition (`synthesizes`), which shows as a step of its own.
 */
export function retrainingProgress(
  progress: Progress,
  { synthesizes }: { readonly synthesizes: boolean },
): {
  onEvent: (event: RetrainingEvent) => void;
  states: StateTiming[];
} {
  const tasks = new Map<string, ProgressTask>();
  const states: StateTiming[] = [];
  const failed = new Set<string>();
  let synthesis = synthesizes ? progress.task('synthesize the state machine (CDK)') : undefined;
  const onEvent = (event: RetrainingEvent) => {
    switch (event.type) {
      case 'state-entered':
        synthesis?.done();
        synthesis = undefined;
        tasks.set(event.state, progress.task(event.state));
        return;
      case 'training-round': {
        const { round, metrics } = event.round;
        const shown = Object.entries(metrics)
          .filter(([name]) => name.startsWith('validation-'))
          .map(([name, value]) => `${name} ${value.toFixed(4)}`)
          .join(', ');
        const of = event.total ? `/${event.total}` : '';
        tasks.get(event.state)?.update(`round ${round + 1}${of}${shown ? `, ${shown}` : ''}`, undefined, {
          round: round + 1,
          ...metrics,
        });
        return;
      }
      case 'approval-waiting':
        tasks
          .get(event.state)
          ?.update(`waits: mlp approve ${event.modelVersion} --local ${event.environment} --reason TEXT`, undefined, {
            modelVersion: event.modelVersion,
          });
        return;
      case 'state-exited':
        // A caught failure is reported as failed and then as exited: the state is listed once.
        if (failed.delete(event.state)) return;
        states.push({ state: event.state, seconds: event.seconds });
        tasks.get(event.state)?.done();
        return;
      case 'state-failed':
        failed.add(event.state);
        states.push({ state: event.state, seconds: event.seconds, failed: event.error });
        tasks.get(event.state)?.fail(event.error);
    }
  };
  return { onEvent, states };
}

/** The exit code of an outcome: promoted 0, declined by the gate or an approver 3, failed 1. */
export function outcomeExitCode(outcome: RetrainingOutcome): number {
  if (outcome.outcome === 'Promoted') return EXIT.done;
  if (outcome.outcome === 'Failed') return EXIT.failed;
  return EXIT.refused;
}

/** Test-split metrics in one line. */
export function metricsLine(m: ModelMetrics): string {
  return (
    `AUC ${m.auc.toFixed(4)}, Gini ${m.gini.toFixed(4)}, KS ${m.ks.toFixed(4)}, Brier ${m.brier.toFixed(4)}, ` +
    `calibration error ${m.calibrationError.toFixed(4)} (${m.rows} test rows)`
  );
}

/** The outcome for a person, naming what serves afterwards. */
export function outcomeLines(outcome: RetrainingOutcome, champion?: string): string[] {
  const serving = champion ? `the champion ${champion} keeps serving` : 'no model serves yet';
  switch (outcome.outcome) {
    case 'Promoted':
      return [
        `Promoted: ${outcome.modelVersion} now serves${outcome.approver ? ` (approved by ${outcome.approver})` : ''}`,
        `  ${metricsLine(outcome.metrics)}`,
      ];
    case 'NotPromoted':
      return [
        `Not promoted: ${outcome.modelVersion}: ${outcome.reasons.join('; ')}; ${serving}`,
        `  ${metricsLine(outcome.metrics)}`,
      ];
    case 'Rejected':
      return [
        `Rejected${outcome.approver ? ` by ${outcome.approver}` : ''}: ${outcome.modelVersion}: ${outcome.reason}; ${serving}`,
        `  ${metricsLine(outcome.metrics)}`,
      ];
    case 'Failed':
      return [`Failed: ${outcome.error}: ${outcome.cause}; ${serving}`];
  }
}
