/** `mlp seed`. */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SEED_BATCH, seedBank, SeedTargetExists } from '../seed/synthetic-bank';
import { mlpHomeOf } from '../../contracts/mlp-home';
import { UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { parseCustomers } from './customers-option';

/** Options of `mlp seed`. */
export interface SeedCommandOptions {
  readonly customers: string;
  readonly db?: string;
  readonly seed: string;
  readonly json?: boolean;
}

/** `mlp seed`. */
export function seed(options: SeedCommandOptions): void {
  const customers = parseCustomers(options.customers, 1);
  const seedValue = Number(options.seed);
  if (!Number.isInteger(seedValue)) throw new UsageError(`--seed must be an integer, got "${options.seed}"`);
  const path = resolve(options.db ?? join(mlpHomeOf(), 'bank.db'));
  mkdirSync(dirname(path), { recursive: true });
  const out = new CommandOutput(options);
  const progress = out.progress();
  const task = progress.task('seed', Math.ceil(customers / SEED_BATCH));
  const started = Date.now();
  try {
    const summary = seedBank(path, {
      customers,
      seed: seedValue,
      onProgress: (done) =>
        task.update(`${done.toLocaleString('en-GB')} customers`, Math.ceil(done / SEED_BATCH), { customers: done }),
    });
    const seconds = (Date.now() - started) / 1000;
    task.done(`${summary.customers.toLocaleString('en-GB')} customers, ${summary.loans.toLocaleString('en-GB')} loans`);
    progress.stop();
    out.result(
      { db: path, ...summary, seconds },
      {
        human: (r) =>
          `seeded ${r.db}: ${r.customers} customers, ${r.accounts} accounts, ${r.loans} loans ` +
          `(default rate ${(r.defaultRate * 100).toFixed(1)}%) in ${r.seconds.toFixed(1)} s`,
      },
    );
  } catch (error) {
    task.fail('failed'); // the error line says why
    progress.stop();
    if (error instanceof SeedTargetExists) throw new UsageError(error.message);
    throw error;
  }
}
