/**
 * `mlp agent run`: extracts every dataset of an agent config (anonymised at source) into the configured
 * store; `--dry-run` prints the plan and SQL and writes nothing. Exit codes: 0 done, 2 bad config or usage,
 * 3 extract refused (policy, data tests, k-anonymity), 1 anything else.
 */
import type { Command } from 'commander';
import {
  type AgentConfig,
  AgentConfigError,
  loadAgentConfig,
  readSecret,
} from '../../onprem-agent/config/agent-config';
import { ExtractAbort, type ExtractProgress, planExtract, runExtract } from '../../onprem-agent/extract/run-extract';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { S3Store } from '../../onprem-agent/sink/s3-store';
import { OracleSource } from '../../onprem-agent/source/oracle-source';
import type { Source } from '../../onprem-agent/source/source';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { UsageError } from '../usage-error';

/** Registers `mlp agent` (the same commands the standalone agent bundle exposes at its top level). */
export function registerAgentCommand(program: Command): void {
  registerAgentCommands(program.command('agent').description('the on-prem extract agent'));
}

/** Adds the agent's commands (`run`) to `parent`. */
export function registerAgentCommands(parent: Command): void {
  parent
    .command('run')
    .description('extract, anonymise and push every dataset of a config')
    .requiredOption('--config <file>', 'agent config (YAML or JSON)')
    .option('--dataset <name>', 'only this dataset')
    .option('--dry-run', 'print the plan and SQL; write nothing')
    .action(async (options: { config: string; dataset?: string; dryRun?: boolean }) => {
      let config;
      try {
        config = loadAgentConfig(options.config);
      } catch (error) {
        if (error instanceof AgentConfigError) throw new UsageError(error.message);
        throw error;
      }
      const datasets = config.datasets.filter((d) => !options.dataset || d.name === options.dataset);
      if (datasets.length === 0) throw new UsageError(`no dataset named "${options.dataset}" in ${options.config}`);
      const source = await openSource(config).catch((error: unknown) => {
        throw error instanceof AgentConfigError ? new UsageError(error.message) : error;
      });
      // Drain the database pool on SIGTERM (systemd, cron timeouts), then let the run fail.
      const drain = () => void source.close();
      process.once('SIGTERM', drain);
      try {
        const key = options.dryRun ? Buffer.alloc(32) : readSecret(config.pseudonymisation.key, 'pseudonymisation key');
        if (!options.dryRun && key.length < 32)
          throw new UsageError('the pseudonymisation key must be at least 32 bytes');
        const store =
          config.sink.type === 'filesystem' ? new FilesystemStore(config.sink.root) : new S3Store(config.sink);
        const deps = { source, store, key, now: () => new Date() };
        for (const dataset of datasets) {
          if (options.dryRun) {
            const plan = await planExtract(config, dataset, deps);
            console.log(
              JSON.stringify(
                {
                  dataset: plan.dataset,
                  run: plan.plan,
                  resuming: plan.resuming,
                  sql: plan.sql,
                  binds: plan.binds,
                  output: plan.outputColumns,
                  dropped: plan.dropped,
                },
                null,
                2,
              ),
            );
            continue;
          }
          const result = await runExtract(config, dataset, { ...deps, progress: progressReporter(dataset.name) });
          if (process.stderr.isTTY) process.stderr.write('\n');
          console.log(
            JSON.stringify({ level: 'INFO', message: result.rows === 0 ? 'no new rows' : 'extract stored', ...result }),
          );
        }
      } catch (error) {
        if (error instanceof ExtractAbort) {
          console.error(`mlp: extract refused: ${error.message}`);
          process.exitCode = 3;
          return;
        }
        if (error instanceof AgentConfigError) throw new UsageError(error.message);
        throw error;
      } finally {
        process.off('SIGTERM', drain);
        await source.close();
      }
    });
}

async function openSource(config: AgentConfig): Promise<Source> {
  if (config.source.type === 'sqlite') return new SqliteSource(config.source.path);
  const password = readSecret(config.source.password, 'Oracle password').toString('utf8').trimEnd();
  return OracleSource.open({ connectString: config.source.connectString, user: config.source.user, password });
}

/**
 * Progress of a run: a live line with rows/s on a terminal (at most five updates a second), JSON log lines
 * otherwise (cron, systemd): one per stored part, and one every 30 seconds while the source is read.
 */
function progressReporter(dataset: string): (progress: ExtractProgress) => void {
  const started = Date.now();
  let shown = 0;
  return ({ phase, rows }) => {
    const now = Date.now();
    const rate = Math.round(rows / Math.max((now - started) / 1000, 0.001));
    const verb = phase === 'read' ? 'read' : 'stored';
    if (process.stderr.isTTY) {
      if (phase === 'read' && now - shown < 200) return;
      shown = now;
      process.stderr.write(
        `\r${dataset}: ${rows.toLocaleString('en-GB')} rows ${verb}, ${rate.toLocaleString('en-GB')} rows/s   `,
      );
      return;
    }
    if (phase === 'read' && now - shown < 30_000) return;
    shown = now;
    const message = phase === 'read' ? 'rows read' : 'part stored';
    console.log(JSON.stringify({ level: 'INFO', message, dataset, rows, rowsPerSecond: rate }));
  };
}
