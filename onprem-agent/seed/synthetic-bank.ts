/**
 * A deterministic synthetic retail bank in SQLite, the embedded stand-in for the bank's Oracle warehouse:
 * customers with direct identifiers (name, national id, e-mail, phone) and quasi-identifiers (birth date,
 * postcode), accounts and balances, monthly transaction aggregates, and loans whose 12-month default label
 * depends on the features through a logistic model (real, learnable signal). Same seed, same bank.
 */
import { existsSync, linkSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/** Options of {@link seedBank}. */
export interface SeedOptions {
  /** Number of customers (1 to {@link MAX_SEED_CUSTOMERS}). */
  readonly customers: number;
  /** PRNG seed. @default 42 */
  readonly seed?: number;
  /** "As of" date of the snapshot (ISO). @default 2026-10-31 */
  readonly asOf?: string;
  /** Called with the number of customers written so far, every {@link SEED_BATCH} customers. */
  readonly onProgress?: (customers: number) => void;
}

/** Customers written per transaction (and per progress call). */
export const SEED_BATCH = 10_000;

/** Raised when the target of {@link seedBank} already exists. */
export class SeedTargetExists extends Error {
  constructor(path: string) {
    super(`${path} already exists (a bank is never overwritten); remove it or choose another path`);
    this.name = 'SeedTargetExists';
  }
}

/** What was written. */
export interface SeedSummary {
  readonly customers: number;
  readonly accounts: number;
  readonly loans: number;
  readonly defaultRate: number;
}

const FIRST = [
  'Olivia',
  'Amelia',
  'Isla',
  'Ava',
  'Mia',
  'Ivy',
  'Lily',
  'Grace',
  'Noah',
  'Oliver',
  'George',
  'Arthur',
  'Leo',
  'Harry',
  'Oscar',
  'Muhammad',
  'Jack',
  'Charlie',
  'Freya',
  'Zoë',
  'José',
  'Siobhán',
  'Łukasz',
  'Chloé',
];
const LAST = [
  'Smith',
  'Jones',
  'Taylor',
  'Brown',
  'Williams',
  'Wilson',
  'Johnson',
  'Davies',
  'Patel',
  'Robinson',
  'Wright',
  'Thompson',
  'Evans',
  'Walker',
  'White',
  'Roberts',
  'Green',
  'Hall',
  'Khan',
  'Nowak',
  "O'Brien",
  'Müller',
  'García',
  'Nguyen',
];
const OUTWARD = [
  'SW1A',
  'EC1A',
  'W1A',
  'M1',
  'M14',
  'B1',
  'B15',
  'LS1',
  'LS6',
  'G1',
  'G12',
  'EH1',
  'EH3',
  'CF10',
  'BS1',
  'BS8',
  'NE1',
  'L1',
  'L18',
  'S1',
  'NG1',
  'CB1',
  'OX1',
  'BT1',
];
const REGION = [
  'London',
  'London',
  'London',
  'North West',
  'North West',
  'West Midlands',
  'West Midlands',
  'Yorkshire',
  'Yorkshire',
  'Scotland',
  'Scotland',
  'Scotland',
  'Scotland',
  'Wales',
  'South West',
  'South West',
  'North East',
  'North West',
  'North West',
  'Yorkshire',
  'East Midlands',
  'East',
  'South East',
  'Northern Ireland',
];
const EMPLOYMENT = ['employed', 'employed', 'employed', 'employed', 'self-employed', 'student', 'unemployed'];
const PURPOSE = ['car', 'home-improvement', 'debt-consolidation', 'holiday', 'wedding', 'education', 'other'];
const ACCOUNT_TYPES = ['current', 'savings', 'credit-card', 'isa'];
const NI_LETTERS = 'ABCEGHJKLMNOPRSTWXYZ';

/** Mulberry32: small, fast, good enough for synthetic data, and reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMA = `
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, national_id TEXT NOT NULL UNIQUE, email TEXT,
  phone TEXT, birth_date TEXT NOT NULL, postcode TEXT NOT NULL, region TEXT NOT NULL, employment_status TEXT,
  annual_income REAL, customer_since TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE accounts (
  account_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers, account_type TEXT NOT NULL,
  opened_on TEXT NOT NULL, balance REAL NOT NULL);
CREATE TABLE monthly_transactions (
  customer_id INTEGER NOT NULL REFERENCES customers, month TEXT NOT NULL, tx_count INTEGER NOT NULL,
  spend REAL NOT NULL, inflow REAL NOT NULL, PRIMARY KEY (customer_id, month));
CREATE TABLE customer_aggregates (
  customer_id INTEGER PRIMARY KEY REFERENCES customers, n_accounts INTEGER, total_balance REAL,
  avg_monthly_spend REAL, avg_monthly_inflow REAL, max_monthly_spend REAL, months_overdrawn INTEGER);
CREATE TABLE loans (
  loan_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers, amount REAL NOT NULL,
  term_months INTEGER NOT NULL, interest_rate REAL NOT NULL, purpose TEXT NOT NULL, originated_on TEXT NOT NULL,
  missed_payments_6m INTEGER NOT NULL, defaulted_12m INTEGER NOT NULL, updated_at TEXT);
CREATE INDEX loans_watermark ON loans (updated_at, loan_id);
CREATE VIEW loan_features AS
SELECT l.loan_id, l.customer_id, c.full_name, c.national_id, c.email, c.phone, c.birth_date, c.postcode,
       c.region, c.employment_status, c.annual_income, c.customer_since, a.n_accounts, a.total_balance,
       a.avg_monthly_spend, a.avg_monthly_inflow, a.max_monthly_spend, a.months_overdrawn, l.amount AS loan_amount,
       l.term_months, l.interest_rate, l.purpose, l.originated_on,
       CAST(ROUND(l.amount / MAX(c.annual_income, 1000), 4) AS REAL) AS debt_to_income,
       CAST(ROUND(a.avg_monthly_spend / MAX(a.avg_monthly_inflow, 1), 4) AS REAL) AS spend_to_inflow,
       l.missed_payments_6m, l.updated_at, l.defaulted_12m
FROM loans l JOIN customers c USING (customer_id) JOIN customer_aggregates a USING (customer_id);
`;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
function dateFromDays(days: number): string {
  const d = new Date(Date.UTC(1970, 0, 1) + days * 86_400_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
const daysOf = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

/**
 * Largest bank the seeder builds: `mlp seed` offers 1 to 5,000,000 customers; `bench:agent` goes to 15M
 * (about 5.3M loan rows) for its memory check.
 */
export const MAX_SEED_CUSTOMERS = 15_000_000;

/** Removes a SQLite file with its journal, WAL and shared-memory files. */
function removeSqliteFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
}

/** Removes what seeds of `path` killed mid-way left behind (`<path>.partial-<pid>` of a process that is gone). */
function removeStalePartials(path: string): void {
  const prefix = `${basename(path)}.partial-`;
  let entries: string[];
  try {
    entries = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = /^(\d+)$/.exec(entry.startsWith(prefix) ? entry.slice(prefix.length) : '')?.[1];
    if (!pid || isRunning(Number(pid))) continue;
    removeSqliteFiles(join(dirname(path), entry));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the bank in a new SQLite file. Refuses a path that exists, and builds the file under a temporary
 * name next to it, linked into place only once complete: a failed or interrupted seed leaves nothing behind.
 */
export function seedBank(path: string, options: SeedOptions): SeedSummary {
  const { customers } = options;
  if (!Number.isInteger(customers) || customers < 1 || customers > MAX_SEED_CUSTOMERS) {
    throw new Error(
      `customers must be a whole number from 1 to ${MAX_SEED_CUSTOMERS.toLocaleString('en-GB')}, got ${customers}`,
    );
  }
  if (existsSync(path)) throw new SeedTargetExists(path);
  const random = prng(options.seed ?? 42);
  const asOf = daysOf(options.asOf ?? '2026-10-31');
  removeStalePartials(path);
  const partial = `${path}.partial-${process.pid}`;
  const removePartial = () => removeSqliteFiles(partial);
  removePartial();
  const db = new Database(partial);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.exec(SCHEMA);
    const insertCustomer = db.prepare('INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?)');
    const insertAccount = db.prepare('INSERT INTO accounts VALUES (?,?,?,?,?)');
    const insertMonth = db.prepare('INSERT INTO monthly_transactions VALUES (?,?,?,?,?)');
    const insertAggregate = db.prepare('INSERT INTO customer_aggregates VALUES (?,?,?,?,?,?,?)');
    const insertLoan = db.prepare('INSERT INTO loans VALUES (?,?,?,?,?,?,?,?,?,?)');
    let accountId = 0;
    let loanId = 0;
    let defaults = 0;
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const insertAll = db.transaction((from: number, to: number) => {
      for (let id = from; id < to; id++) {
        const first = FIRST[Math.floor(random() * FIRST.length)];
        const last = LAST[Math.floor(random() * LAST.length)];
        const age = 18 + Math.floor(random() * 62);
        const birth = dateFromDays(asOf - age * 365 - Math.floor(random() * 365));
        const area = Math.floor(random() * OUTWARD.length);
        const postcode = `${OUTWARD[area]} ${1 + Math.floor(random() * 9)}${'ABDEFGHJLNPQRSTUWXYZ'[Math.floor(random() * 20)]}${'ABDEFGHJLNPQRSTUWXYZ'[Math.floor(random() * 20)]}`;
        const employment = age > 66 ? 'retired' : EMPLOYMENT[Math.floor(random() * EMPLOYMENT.length)];
        const baseIncome = employment === 'unemployed' ? 9000 : employment === 'student' ? 12000 : 32000;
        const income = Math.round(baseIncome * Math.exp(0.45 * normal() + (area < 3 ? 0.25 : 0)) * 100) / 100;
        const tenureDays = Math.floor(random() * 365 * Math.min(25, age - 17));
        const nationalId = `${NI_LETTERS[(id * 7) % 20]}${NI_LETTERS[(id * 13) % 20]}${pad(id, 7)}${'ABCD'[id % 4]}`;
        const updated = dateFromDays(asOf - Math.floor(random() * 400));
        insertCustomer.run(
          id,
          `${first} ${last}`,
          nationalId,
          `${first}.${last}${id}@example.com`.toLowerCase(),
          `07${pad(Math.floor(random() * 1e9), 9)}`,
          birth,
          postcode,
          REGION[area],
          employment,
          income,
          dateFromDays(asOf - tenureDays),
          `${updated}T00:00:00Z`,
        );

        const nAccounts = 1 + Math.floor(random() * 3);
        let totalBalance = 0;
        for (let a = 0; a < nAccounts; a++) {
          const balance = Math.round((income / 12) * (random() * 3 - 0.3) * 100) / 100;
          totalBalance += balance;
          insertAccount.run(
            ++accountId,
            id,
            ACCOUNT_TYPES[a % ACCOUNT_TYPES.length],
            dateFromDays(asOf - Math.floor(random() * tenureDays + 1)),
            balance,
          );
        }
        const habit = Math.exp(0.3 * normal());
        let spendSum = 0;
        let inflowSum = 0;
        let maxSpend = 0;
        let overdrawn = 0;
        for (let m = 0; m < 6; m++) {
          const inflow = Math.round((income / 12) * (0.9 + 0.2 * random()) * 100) / 100;
          const spend = Math.round(inflow * habit * (0.7 + 0.5 * random()) * 100) / 100;
          spendSum += spend;
          inflowSum += inflow;
          maxSpend = Math.max(maxSpend, spend);
          if (spend > inflow * 1.05) overdrawn++;
          const month = dateFromDays(asOf - (m + 1) * 30).slice(0, 7);
          insertMonth.run(id, month, 10 + Math.floor(random() * 80), spend, inflow);
        }
        insertAggregate.run(
          id,
          nAccounts,
          Math.round(totalBalance * 100) / 100,
          Math.round((spendSum / 6) * 100) / 100,
          Math.round((inflowSum / 6) * 100) / 100,
          maxSpend,
          overdrawn,
        );

        if (random() < 0.35) {
          const amount = Math.round((2000 + random() * 30000) * 100) / 100;
          const missed = random() < 0.15 ? 1 + Math.floor(random() * 4) : 0;
          const dti = amount / Math.max(income, 1000);
          const logit =
            -3.9 +
            1.6 * dti +
            0.9 * missed +
            1.3 * (habit - 1) +
            0.25 * overdrawn -
            0.000012 * (income - 30000) +
            (age < 25 ? 0.5 : 0) +
            (employment === 'unemployed' ? 0.9 : 0) -
            Math.min(tenureDays / 3650, 1) * 0.6;
          const defaulted = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
          defaults += defaulted;
          const originated = dateFromDays(asOf - 365 - Math.floor(random() * 700));
          insertLoan.run(
            ++loanId,
            id,
            amount,
            [12, 24, 36, 48, 60][Math.floor(random() * 5)],
            Math.round((0.04 + 0.08 * random() + 0.02 * missed) * 10000) / 10000,
            PURPOSE[Math.floor(random() * PURPOSE.length)],
            originated,
            missed,
            defaulted,
            `${updated}T${pad(Math.floor(random() * 24))}:00:00Z`,
          );
        }
      }
    });
    for (let from = 1; from <= customers; from += SEED_BATCH) {
      const to = Math.min(customers + 1, from + SEED_BATCH);
      insertAll(from, to);
      options.onProgress?.(to - 1);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    try {
      linkSync(partial, path); // create-only: a bank another process made meanwhile is kept
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new SeedTargetExists(path);
      throw error;
    }
    return { customers, accounts: accountId, loans: loanId, defaultRate: loanId ? defaults / loanId : 0 };
  } finally {
    if (db.open) db.close();
    removePartial();
  }
}
