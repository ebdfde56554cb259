/**
 * The scorer's metrics as others read them: the handler publishes them (EMF), the Serving stack's alarms watch
 * the whole function's, and FinishDeploy judges a canary on the counts of the version that answered.
 */

/** Powertools service name of the scorer: the `service` dimension of every scorer metric. */
export const SCORER_SERVICE = 'mlp-scorer';

/** CloudWatch namespace of an environment's scorer metrics. */
export function scorerMetricsNamespace(envName: string): string {
  return `mlp/${envName}`;
}

/** Metric names every invocation publishes: one request, and whether it was answered with a 5xx. */
export const SCORER_METRIC = { requests: 'Requests', serverErrors: 'ServerErrors' } as const;

/**
 * The dimension that tells versions apart: each metric is published under `service` alone (the function) and
 * under `service` with this one (the version that answered), which is what a canary is judged on.
 */
export const VERSION_DIMENSION = 'FunctionVersion';
