/** `mlp seed`. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { advanceBank, checkShift } from '../seed/advance-bank';
import Database from 'better-sqlite3';
import { dateFromDays, daysOf, readBankClock, SEED_BATCH, seedBank, SeedTargetExists } from '../seed/synthetic-bank';
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
  const path = bankPath(options.db);
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
          `seeded ${r.db} as of ${r.asOf}: ${r.customers} customers, ${r.accounts} accounts, ${r.loans} loans ` +
          `(${r.labelledLoans} with a known outcome; default rate ${(r.defaultRate * 100).toFixed(1)}%) ` +
          `in ${r.seconds.toFixed(1)} s`,
      },
    );
  } catch (error) {
    task.fail('failed'); // the error line says why
    progress.stop();
    if (error instanceof SeedTargetExists) throw new UsageError(error.message);
    throw error;
  }
}

const bankPath = (db: string | undefined) => resolve(db ?? join(mlpHomeOf(), 'bank.db'));

/** Options of `mlp seed advance`. */
export interface AdvanceCommandOptions {
  readonly days?: string;
  readonly months?: string;
  readonly db?: string;
  readonly shift?: string[];
  readonly json?: boolean;
}

/** `mlp seed advance`. */
export function advance(options: AdvanceCommandOptions): void {
  const path = bankPath(options.db);
  if (!existsSync(path)) throw new UsageError(`${path} does not exist: run mlp seed first`);
  const shift = parseShift(options.shift ?? []);
  let days: number;
  if ((options.days === undefined) === (options.months === undefined)) {
    throw new UsageError('give exactly one of --days N and --months N');
  } else if (options.days !== undefined) {
    days = wholeNumber('--days', options.days, 3650);
  } else {
    const months = wholeNumber('--months', options.months!, 120);
    const db = new Database(path, { readonly: true, fileMustExist: true });
    let asOf: string;
    try {
      asOf = readBankClock(db).asOf;
    } catch (error) {
      throw new UsageError((error as Error).message);
    } finally {
      db.close();
    }
    days = daysOf(addMonths(asOf, months)) - daysOf(asOf);
  }
  let summary;
  try {
    summary = advanceBank(path, { days, shift });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  new CommandOutput(options).result(
    { db: path, days, ...(Object.keys(shift).length ? { shift } : {}), ...summary },
    {
      human: (r) =>
        `advanced ${r.db} from ${r.from} to ${r.to}: ${r.newCustomers} new customers, ${r.newLoans} new loans, ` +
        `${r.matured} outcomes now known, ${r.missedPayments} missed payments, ${r.balanceChanges} balances moved, ` +
        `${r.leftCustomers} customers left; ${r.changedLoans} loan rows changed`,
    },
  );
}

function wholeNumber(option: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${option} must be a whole number from 1 to ${max}, got "${text.slice(0, 40)}"`);
  }
  return n;
}

/** `feature=factor` pairs. */
function parseShift(pairs: readonly string[]): Record<string, number> {
  const shift: Record<string, number> = {};
  for (const pair of pairs) {
    const match = /^([a-z_]+)=([0-9.]+)$/.exec(pair);
    if (!match) throw new UsageError(`--shift takes feature=factor (e.g. loan_amount=1.4), got "${pair.slice(0, 60)}"`);
    shift[match[1]] = Number(match[2]);
  }
  try {
    checkShift(shift);
  } catch (error) {
    throw new UsageError(`--shift: ${(error as Error).message}`);
  }
  return shift;
}

/** The same day `months` calendar months later (clamped to the month's last day). */
function addMonths(iso: string, months: number): string {
  const [y, m, d] = iso.split('-').map(Number);
  const target = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return dateFromDays(daysOf(`${target.toISOString().slice(0, 8)}${String(Math.min(d, last)).padStart(2, '0')}`));
}
