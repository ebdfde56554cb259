/**
 * The monitoring jobs' metrics as others read them: the drift job publishes them (EMF), the Monitoring stack's
 * alarms and dashboard read them, in the scorer's namespace (contracts/scorer-metrics.ts).
 */
import { driftAlarmPrefix } from './resource-names';

/** Powertools service name of the monitoring jobs: the `service` dimension of their metrics. */
export const MONITORING_SERVICE = 'mlp-monitoring';

/** Name of the drift alarm of an environment: the retraining trigger matches its prefix. */
export function driftAlarmName(envName: string): string {
  return `${driftAlarmPrefix(envName)}psi`;
}
