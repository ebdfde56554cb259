/** `mlp agent run`. */
import { type AgentConfig, loadAgentConfig, readSecret } from '../config/agent-config';
import { planExtract } from '../extract/extract-plan';
import { type ExtractProgress, runExtract } from '../extract/run-extract';
import { FilesystemStore } from '../sink/filesystem-store';
import { S3Store } from '../sink/s3-store';
import { OracleSource } from '../source/oracle-source';
import type { Source } from '../source/source';
import { SqliteSource } from '../source/sqlite-source';
import { UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import type { Progress, ProgressTask } from '../../terminal/progress';

/** Options of `mlp agent run`. */
export interface AgentRunOptions {
  readonly config: string;
  readonly dataset?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

/** `mlp agent run`: each dataset in turn; the first refusal stops the run (exit 3). */
export async function runAgent(options: AgentRunOptions): Promise<void> {
  const config = loadAgentConfig(options.config);
  const datasets = config.datasets.filter((d) => !options.dataset || d.name === options.dataset);
  if (datasets.length === 0) {
    throw new UsageError(
      `no dataset named "${options.dataset}" in ${options.config}; it has ${config.datasets.map((d) => d.name).join(', ')}`,
    );
  }
  const key = options.dryRun ? Buffer.alloc(32) : readSecret(config.pseudonymisation.key, 'pseudonymisation key');
  if (key.length < 32) throw new UsageError('the pseudonymisation key must be at least 32 bytes');
  const source = await openSource(config);
  // Drain the database pool on SIGTERM (systemd, cron timeouts), then let the run fail.
  const drain = () => void source.close();
  process.once('SIGTERM', drain);
  const out = new CommandOutput(options);
  const progress = out.progress();
  try {
    const store = config.sink.type === 'filesystem' ? new FilesystemStore(config.sink.root) : new S3Store(config.sink);
    const deps = { source, store, key, now: () => new Date() };
    if (options.dryRun) {
      const plans = [];
      for (const dataset of datasets) {
        const plan = await planExtract(config, dataset, deps);
        plans.push({
          dataset: plan.dataset,
          run: plan.plan,
          resuming: plan.resuming,
          sql: plan.sql,
          binds: plan.binds,
          output: plan.outputColumns,
          dropped: plan.dropped,
        });
      }
      progress.stop();
      out.result(
        { dryRun: true, datasets: plans },
        {
          human: (r) => r.datasets.map((p) => JSON.stringify(p, null, 2)),
          lines: (r) => r.datasets,
        },
      );
      return;
    }
    const results = [];
    for (const dataset of datasets) {
      const started = Date.now();
      const watch = reporter(progress, dataset.name);
      const result = await runExtract(config, dataset, { ...deps, progress: watch.update }).catch((error: Error) => {
        watch.fail(error.name === 'ExtractAbort' ? 'refused' : 'failed'); // the error line says why
        throw error;
      });
      watch.done(`${result.rows.toLocaleString('en-GB')} rows, ${result.parts} part(s)`);
      const record = { ...result, seconds: (Date.now() - started) / 1000 };
      results.push(record);
      // Off a terminal each dataset's line goes out as soon as it is stored: a later refusal cannot hide it.
      if (out.mode === 'lines') out.result(record, { human: () => '' });
    }
    progress.stop();
    if (out.mode === 'lines') return;
    out.result(
      { datasets: results },
      {
        human: (r) =>
          r.datasets.map((d) =>
            d.rows === 0
              ? `${d.dataset}: no new rows since the last run`
              : `${d.dataset}: ${d.rows} rows anonymised in ${d.parts} part(s), ${d.suppressedRows} suppressed by ` +
                `k-anonymity${d.resumed ? ' (resumed)' : ''}, in ${d.seconds.toFixed(1)} s; manifest ${d.manifestKey}`,
          ),
      },
    );
  } finally {
    progress.stop();
    process.off('SIGTERM', drain);
    await source.close();
  }
}

async function openSource(config: AgentConfig): Promise<Source> {
  if (config.source.type === 'sqlite') return new SqliteSource(config.source.path);
  const password = readSecret(config.source.password, 'Oracle password').toString('utf8').trimEnd();
  return OracleSource.open({ connectString: config.source.connectString, user: config.source.user, password });
}

/** Progress of one dataset: rows read and anonymised during the pass, then parts stored. */
function reporter(progress: Progress, dataset: string) {
  const started = Date.now();
  let task: ProgressTask | undefined;
  let phase: ExtractProgress['phase'] | undefined;
  const update = (update: ExtractProgress) => {
    if (update.phase !== phase) {
      task?.done();
      phase = update.phase;
      task = progress.task(`${dataset}: ${phase === 'read' ? 'read and anonymise' : 'store parts'}`);
    }
    const rate = Math.round(update.rows / Math.max((Date.now() - started) / 1000, 0.001));
    task!.update(`${update.rows.toLocaleString('en-GB')} rows, ${rate.toLocaleString('en-GB')} rows/s`, undefined, {
      dataset,
      rows: update.rows,
      rowsPerSecond: rate,
    });
  };
  return {
    update,
    done: (summary: string) => (task ?? progress.task(dataset)).done(summary),
    fail: (reason: string) => (task ?? progress.task(dataset)).fail(reason),
  };
}
