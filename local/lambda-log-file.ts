/**
 * In Lambda, Powertools writes structured logs and EMF metric lines to stdout, where CloudWatch picks them up.
 * A handler run in-process by a CLI command must not print them between the command's own lines: here they go,
 * unchanged, to a file under `$MLP_HOME/logs/` instead.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { Console } from 'node:console';
import { dirname } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** A logger and metrics writing to one file. */
export interface FileObservability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly path: string;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** A Powertools logger and metrics for `serviceName` that append their lines to `path`. */
export function powertoolsToFile(path: string, serviceName: string, namespace?: string): FileObservability {
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  const fileConsole = new Console({ stdout: stream, stderr: stream });
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({
    namespace: namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'mlp',
    serviceName,
  });
  writeThrough(logger, fileConsole);
  writeThrough(metrics, fileConsole);
  return {
    logger,
    metrics,
    path,
    close: () => new Promise<void>((done) => stream.end(done)),
  };
}

/**
 * Powertools 2 (pinned in package.json) writes through a `console` it builds in its constructor; it has no
 * option for another stream. A test checks that nothing reaches stdout, so an upgrade that changes this fails.
 */
function writeThrough(target: Logger | Metrics, console: Console): void {
  if (!('console' in target)) {
    throw new Error('this Powertools version has no console field; local/lambda-log-file.ts needs updating');
  }
  Object.assign(target, { console });
}
