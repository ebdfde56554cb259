/**
 * `npm run bench:agent`: extract + anonymise + serialise + write of the synthetic bank's loan view (~28
 * columns), on one core, side by side with a plain read of the same rows from the same SQLite file. Each
 * size runs in its own process so its peak RSS is its own. The last line is one JSON object.
 *
 * BENCH_AGENT_ROWS: comma-separated row counts (default 100000,1000000); the first is the RSS baseline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';

const LOAN_SHARE = 0.353; // loans per customer in the synthetic bank

/** Child mode: one size on an already seeded bank, prints one JSON line (its peak RSS is the extract's). */
async function measure(dir: string): Promise<void> {
  const db = join(dir, 'bank.db');
  const raw = new Database(db, { readonly: true });
  const count = (raw.prepare('SELECT COUNT(*) n FROM loan_features').get() as { n: number }).n;
  let t0 = performance.now();
  let seen = 0;
  for (const row of raw.prepare('SELECT * FROM loan_features ORDER BY updated_at, loan_id').raw().iterate()) {
    if ((row as unknown[]).length > 0) seen++;
  }
  const rawSeconds = (performance.now() - t0) / 1000;
  raw.close();
  const example = loadAgentConfig(resolve(__dirname, '..', '..', 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
  const config = { ...example, stateDir: join(dir, 'state') };
  const source = new SqliteSource(db);
  t0 = performance.now();
  const result = await runExtract(config, config.datasets[0], {
    source,
    store: new FilesystemStore(join(dir, 'store')),
    key: Buffer.alloc(32, 9),
    now: () => new Date('2026-11-28T12:00:00Z'),
  });
  const agentSeconds = (performance.now() - t0) / 1000;
  await source.close();
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
  console.log(
    JSON.stringify({
      rows: count,
      raw_read_rows_per_s: seen / rawSeconds,
      agent_rows_per_s: count / agentSeconds,
      written_rows: result.rows,
      suppressed_rows: result.suppressedRows,
      parts: result.parts,
      peak_rss_mb: Math.round(peak),
    }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') return measure(process.argv[3]);
  const sizes = (process.env.BENCH_AGENT_ROWS ?? '100000,1000000').split(',').map(Number);
  const results = sizes.map((rows) => {
    console.error(`seeding and extracting ~${rows} rows…`);
    const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-agent-'));
    seedBank(join(dir, 'bank.db'), { customers: Math.ceil(rows / LOAN_SHARE), seed: 11 });
    try {
      const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--measure', dir], {
        encoding: 'utf8',
      });
      return JSON.parse(out.trim().split('\n').pop()!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const largest = results[results.length - 1];
  for (const r of results) {
    console.log(
      `${r.rows} rows: agent ${Math.round(r.agent_rows_per_s)} rows/s, raw read ${Math.round(r.raw_read_rows_per_s)} rows/s, peak RSS ${r.peak_rss_mb} MB`,
    );
  }
  console.log(
    JSON.stringify({
      ratio_vs_raw_read: largest.agent_rows_per_s / largest.raw_read_rows_per_s,
      peak_rss_mb: Math.max(...results.map((r) => r.peak_rss_mb)),
      rss_growth_mb: largest.peak_rss_mb - results[0].peak_rss_mb,
      runs: results,
      node: process.version,
    }),
  );
}

main().catch((error: Error) => {
  console.error(`bench:agent failed: ${error.message}`);
  process.exit(1);
});
