/**
 * A deterministic synthetic retail bank in SQLite, the embedded stand-in for the bank's Oracle warehouse:
 * customers with direct identifiers (name, national id, e-mail, phone) and quasi-identifiers (birth date,
 * postcode), accounts and balances, monthly transaction aggregates, and loans whose 12-month default label
 * depends on the features through a logistic model (real, learnable signal). Same seed, same bank. The customers'
 * protected attributes (birth date, recorded sex) are also in a view of their own, `loan_protected_attributes`,
 * which the agent extracts under its own policy for the fairness gate, never as features.
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
  /** Loans whose outcome is known (originated at least a horizon before the as-of date). */
  readonly labelledLoans: number;
  /** Share of all loans (known outcome or not) that default. */
  readonly defaultRate: number;
  /** The bank's date. */
  readonly asOf: string;
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
export function prng(seed: number): () => number {
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
CREATE TABLE bank_clock (
  id INTEGER PRIMARY KEY CHECK (id = 1), as_of TEXT NOT NULL, seed INTEGER NOT NULL, advances INTEGER NOT NULL);
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, national_id TEXT NOT NULL UNIQUE, email TEXT,
  phone TEXT, birth_date TEXT NOT NULL, postcode TEXT NOT NULL, region TEXT NOT NULL, employment_status TEXT,
  annual_income REAL, customer_since TEXT NOT NULL, updated_at TEXT NOT NULL, left_on TEXT, sex TEXT);
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
  missed_payments_6m INTEGER NOT NULL, defaulted_12m INTEGER, updated_at TEXT);
CREATE INDEX loans_watermark ON loans (updated_at, loan_id);
CREATE INDEX loans_customer ON loans (customer_id);
CREATE TABLE loan_outcomes (
  loan_id INTEGER PRIMARY KEY, defaulted INTEGER NOT NULL, known_on TEXT NOT NULL);
CREATE VIEW loan_features AS
SELECT l.loan_id, l.customer_id, c.full_name, c.national_id, c.email, c.phone, c.birth_date, c.postcode,
       c.region, c.employment_status, c.annual_income, c.customer_since, a.n_accounts, a.total_balance,
       a.avg_monthly_spend, a.avg_monthly_inflow, a.max_monthly_spend, a.months_overdrawn, l.amount AS loan_amount,
       l.term_months, l.interest_rate, l.purpose, l.originated_on,
       CAST(ROUND(l.amount / MAX(c.annual_income, 1000), 4) AS REAL) AS debt_to_income,
       CAST(ROUND(a.avg_monthly_spend / MAX(a.avg_monthly_inflow, 1), 4) AS REAL) AS spend_to_inflow,
       l.missed_payments_6m, l.updated_at, l.defaulted_12m
FROM loans l JOIN customers c USING (customer_id) JOIN customer_aggregates a USING (customer_id);
CREATE VIEW loan_outcomes_known AS
SELECT o.loan_id, o.defaulted AS defaulted_12m, o.known_on
FROM loan_outcomes o JOIN bank_clock k ON k.id = 1 AND o.known_on <= k.as_of;
CREATE VIEW loan_protected_attributes AS
SELECT l.loan_id, c.birth_date, c.sex, l.updated_at
FROM loans l JOIN customers c USING (customer_id);
`;

/** Days until a loan's outcome is known: the label is default within 12 months of origination. */
export const OUTCOME_HORIZON_DAYS = 365;
/**
 * How far back the seeded loans originate (two and a half years, inside a three-year training window): the
 * youngest year's outcomes are not known yet, and each month that passes adds the outcomes that mature.
 */
const ORIGINATION_SPREAD_DAYS = 913;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** ISO date of a day number (days since 1970-01-01). */
export function dateFromDays(days: number): string {
  const d = new Date(Date.UTC(1970, 0, 1) + days * 86_400_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
/** `YYYY-MM` of the calendar month `back` months before the one of day `today`. */
function monthsBefore(today: number, back: number): string {
  const [year, month] = dateFromDays(today).split('-').map(Number);
  const index = year * 12 + (month - 1) - back;
  return `${Math.floor(index / 12)}-${pad((index % 12) + 1)}`;
}
/** Day number of an ISO date. */
export const daysOf = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

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

/** Options of one customer {@link BankWriter} writes. */
export interface NewCustomer {
  /** The bank's date when the customer is written (day number). */
  readonly today: number;
  /**
   * When the customer's loan (if any) originates. Seeding spreads loans over the past three years; an advance
   * originates them on the day the customer joins.
   */
  readonly originate: () => number;
  /** A customer who joins today (tenure 0) rather than one with years of history. */
  readonly joinsToday?: boolean;
  /** Factors multiplying chosen features of the customer and the loan (drift). */
  readonly shift?: Readonly<Partial<Record<ShiftableFeature, number>>>;
}

/** Features whose distribution `mlp seed advance --shift` can move. */
export const SHIFTABLE_FEATURES = ['annual_income', 'loan_amount', 'interest_rate'] as const;
/** A feature {@link SHIFTABLE_FEATURES} names. */
export type ShiftableFeature = (typeof SHIFTABLE_FEATURES)[number];

/**
 * Writes customers with their accounts, six months of transactions, aggregates and perhaps a loan. A loan's
 * outcome is drawn when it originates (from the same features, so the label is learnable) and kept in
 * `loan_outcomes`, outside the view: the view shows `defaulted_12m` only once the horizon has passed, and the
 * outcomes view (`loan_outcomes_known`, the agent's labels dataset) the outcomes known by the bank's date.
 */
export class BankWriter {
  private readonly insertCustomer;
  private readonly insertAccount;
  private readonly insertMonth;
  private readonly insertAggregate;
  private readonly insertLoan;
  private readonly insertOutcome;
  /** Ids last written: the next customer, account and loan take the following ones. */
  accountId: number;
  loanId: number;

  constructor(
    db: Database.Database,
    private readonly random: () => number,
    /** The bank's seed: the protected attributes are drawn from a stream of their own (see {@link sexOf}). */
    private readonly seed: number,
  ) {
    this.insertCustomer = db.prepare('INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL,?)');
    this.insertAccount = db.prepare('INSERT INTO accounts VALUES (?,?,?,?,?)');
    this.insertMonth = db.prepare('INSERT INTO monthly_transactions VALUES (?,?,?,?,?)');
    this.insertAggregate = db.prepare('INSERT INTO customer_aggregates VALUES (?,?,?,?,?,?,?)');
    this.insertLoan = db.prepare('INSERT INTO loans VALUES (?,?,?,?,?,?,?,?,?,?)');
    this.insertOutcome = db.prepare('INSERT INTO loan_outcomes VALUES (?,?,?)');
    const max = (sql: string) => (db.prepare(sql).pluck().get() as number | null) ?? 0;
    this.accountId = max('SELECT MAX(account_id) FROM accounts');
    this.loanId = max('SELECT MAX(loan_id) FROM loans');
  }

  /** A standard normal draw. */
  normal(): number {
    const random = this.random;
    return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }

  /** Writes customer `id`; returns the loan's outcome when the customer took a loan. */
  customer(id: number, { today, originate, joinsToday, shift }: NewCustomer): { defaulted: number } | undefined {
    const random = this.random;
    const factor = (feature: ShiftableFeature) => shift?.[feature] ?? 1;
    const first = FIRST[Math.floor(random() * FIRST.length)];
    const last = LAST[Math.floor(random() * LAST.length)];
    const age = 18 + Math.floor(random() * 62);
    const birth = dateFromDays(today - age * 365 - Math.floor(random() * 365));
    const area = Math.floor(random() * OUTWARD.length);
    const postcode = `${OUTWARD[area]} ${1 + Math.floor(random() * 9)}${'ABDEFGHJLNPQRSTUWXYZ'[Math.floor(random() * 20)]}${'ABDEFGHJLNPQRSTUWXYZ'[Math.floor(random() * 20)]}`;
    const employment = age > 66 ? 'retired' : EMPLOYMENT[Math.floor(random() * EMPLOYMENT.length)];
    const baseIncome = employment === 'unemployed' ? 9000 : employment === 'student' ? 12000 : 32000;
    const income =
      Math.round(baseIncome * factor('annual_income') * Math.exp(0.45 * this.normal() + (area < 3 ? 0.25 : 0)) * 100) /
      100;
    const history = Math.floor(random() * 365 * Math.min(25, age - 17));
    const tenureDays = joinsToday ? 0 : history;
    const nationalId = `${NI_LETTERS[(id * 7) % 20]}${NI_LETTERS[(id * 13) % 20]}${pad(id, 7)}${'ABCD'[id % 4]}`;
    const updated = joinsToday ? today : today - Math.floor(random() * 400);
    this.insertCustomer.run(
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
      dateFromDays(today - tenureDays),
      `${dateFromDays(updated)}T00:00:00Z`,
      sexOf(this.seed, id),
    );

    const nAccounts = 1 + Math.floor(random() * 3);
    let totalBalance = 0;
    for (let a = 0; a < nAccounts; a++) {
      const balance = Math.round((income / 12) * (random() * 3 - 0.3) * 100) / 100;
      totalBalance += balance;
      this.insertAccount.run(
        ++this.accountId,
        id,
        ACCOUNT_TYPES[a % ACCOUNT_TYPES.length],
        dateFromDays(today - Math.floor(random() * tenureDays + 1)),
        balance,
      );
    }
    const habit = Math.exp(0.3 * this.normal());
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
      const month = monthsBefore(today, m);
      this.insertMonth.run(id, month, 10 + Math.floor(random() * 80), spend, inflow);
    }
    this.insertAggregate.run(
      id,
      nAccounts,
      Math.round(totalBalance * 100) / 100,
      Math.round((spendSum / 6) * 100) / 100,
      Math.round((inflowSum / 6) * 100) / 100,
      maxSpend,
      overdrawn,
    );

    if (random() >= 0.35) return undefined;
    const amount = Math.round((2000 + random() * 30000) * factor('loan_amount') * 100) / 100;
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
    const originated = Math.min(originate(), today);
    const knownOn = originated + OUTCOME_HORIZON_DAYS;
    const known = knownOn <= today;
    // The last change a loan saw: its origination, or the day its outcome became known.
    const lastChange = known ? knownOn : originated;
    const changed = joinsToday ? originated : lastChange + Math.floor(random() * (today - lastChange + 1));
    const loanId = ++this.loanId;
    this.insertLoan.run(
      loanId,
      id,
      amount,
      [12, 24, 36, 48, 60][Math.floor(random() * 5)],
      Math.round((0.04 + 0.08 * random() + 0.02 * missed) * factor('interest_rate') * 10000) / 10000,
      PURPOSE[Math.floor(random() * PURPOSE.length)],
      dateFromDays(originated),
      missed,
      known ? defaulted : null,
      `${dateFromDays(changed)}T${pad(Math.floor(random() * 24))}:00:00Z`,
    );
    this.insertOutcome.run(loanId, defaulted, dateFromDays(knownOn));
    return { defaulted };
  }
}

/**
 * A customer's recorded sex: `female` (50.5%), `male` (48%) or not recorded (NULL, 1.5%), independent of
 * everything else about the customer (so a fair model can pass the fairness gate on it). Drawn from a stream
 * seeded by the bank's seed and the customer's id, apart from the bank's own: adding the attribute changed no
 * other value of a bank of a given seed.
 */
export function sexOf(seed: number, customerId: number): string | null {
  const draw = prng((Math.imul(seed ^ 0x5e7, 2246822519) ^ Math.imul(customerId, 3266489917)) >>> 0)();
  return draw < 0.505 ? 'female' : draw < 0.985 ? 'male' : null;
}

/** The bank's clock: the date it stands at, the seed it grew from and how many advances it has taken. */
export interface BankClock {
  readonly asOf: string;
  readonly seed: number;
  readonly advances: number;
}

/** Reads a bank's clock. */
export function readBankClock(db: Database.Database): BankClock {
  let row: { as_of: string; seed: number; advances: number } | undefined;
  try {
    row = db.prepare('SELECT as_of, seed, advances FROM bank_clock WHERE id = 1').get() as typeof row;
  } catch {
    row = undefined;
  }
  if (!row) throw new Error('this file is not a synthetic bank of this version (it has no bank_clock): seed a new one');
  return { asOf: row.as_of, seed: row.seed, advances: row.advances };
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
  const seed = options.seed ?? 42;
  const random = prng(seed);
  const asOfDate = options.asOf ?? '2026-10-31';
  const asOf = daysOf(asOfDate);
  removeStalePartials(path);
  const partial = `${path}.partial-${process.pid}`;
  const removePartial = () => removeSqliteFiles(partial);
  removePartial();
  const db = new Database(partial);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.exec(SCHEMA);
    db.prepare('INSERT INTO bank_clock VALUES (1, ?, ?, 0)').run(asOfDate, seed);
    const writer = new BankWriter(db, random, seed);
    let defaults = 0;
    let labelled = 0;
    const originate = () => asOf - Math.floor(random() * ORIGINATION_SPREAD_DAYS);
    const insertAll = db.transaction((from: number, to: number) => {
      for (let id = from; id < to; id++) {
        const loan = writer.customer(id, { today: asOf, originate });
        if (loan) defaults += loan.defaulted;
      }
    });
    for (let from = 1; from <= customers; from += SEED_BATCH) {
      const to = Math.min(customers + 1, from + SEED_BATCH);
      insertAll(from, to);
      options.onProgress?.(to - 1);
    }
    labelled = db.prepare('SELECT COUNT(*) FROM loans WHERE defaulted_12m IS NOT NULL').pluck().get() as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    try {
      linkSync(partial, path); // create-only: a bank another process made meanwhile is kept
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new SeedTargetExists(path);
      throw error;
    }
    const loans = writer.loanId;
    return {
      customers,
      accounts: writer.accountId,
      loans,
      labelledLoans: labelled,
      defaultRate: loans ? defaults / loans : 0,
      asOf: asOfDate,
    };
  } finally {
    if (db.open) db.close();
    removePartial();
  }
}
