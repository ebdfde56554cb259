/** `mlp seed`: builds the deterministic synthetic retail bank (SQLite) the agent and the demo extract from. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { UsageError } from '../usage-error';
import { parseCustomers } from './options';

/** Registers `mlp seed`. */
export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description('build a deterministic synthetic retail bank in a new SQLite file')
    .requiredOption('--customers <n>', 'number of customers (1 to 5,000,000)')
    .requiredOption('--db <file>', 'SQLite file to create')
    .option('--seed <n>', 'random seed', '42')
    .action((options: { customers: string; db: string; seed: string }) => {
      const customers = parseCustomers(options.customers, 1);
      const seed = Number(options.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${options.seed}"`);
      const path = resolve(options.db);
      mkdirSync(dirname(path), { recursive: true });
      const started = Date.now();
      const summary = seedBank(path, { customers, seed });
      console.log(
        `seeded ${path}: ${summary.customers} customers, ${summary.accounts} accounts, ${summary.loans} loans ` +
          `(default rate ${(summary.defaultRate * 100).toFixed(1)}%) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    });
}
