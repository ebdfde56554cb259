/**
 * Moves the synthetic bank forward in time, deterministically (the same bank advanced the same way is the same
 * bank): new customers join and take loans, loans miss payments, balances move, some customers leave, and each
 * loan's outcome (`defaulted_12m`) appears only once its 12-month horizon has passed. Every row that changes
 * moves its `updated_at` into the advanced period, so the agent's next incremental run carries exactly these
 * changes. An advance is one transaction: it happens whole or not at all.
 */
import Database from 'better-sqlite3';
import {
  BankWriter,
  dateFromDays,
  daysOf,
  prng,
  readBankClock,
  SHIFTABLE_FEATURES,
  type ShiftableFeature,
} from './synthetic-bank';

/** Options of {@link advanceBank}. */
export interface AdvanceOptions {
  /** Days to move forward (1 to {@link MAX_ADVANCE_DAYS}). */
  readonly days: number;
  /** Factors multiplying features of the loans that originate in this period (drift for the monitoring work). */
  readonly shift?: Readonly<Partial<Record<ShiftableFeature, number>>>;
}

/** What an advance changed. */
export interface AdvanceSummary {
  readonly from: string;
  readonly to: string;
  readonly newCustomers: number;
  readonly newLoans: number;
  /** Loans whose outcome became known. */
  readonly matured: number;
  /** Loans that missed a payment. */
  readonly missedPayments: number;
  /** Customers whose balances moved (their loans' rows changed with them). */
  readonly balanceChanges: number;
  readonly leftCustomers: number;
  /** Loan rows whose `updated_at` moved into the period: what the next incremental extract carries. */
  readonly changedLoans: number;
}

/** Longest single advance (ten years). */
export const MAX_ADVANCE_DAYS = 3650;

/** Monthly rates of the bank's life, per 30 days. */
const RATES = {
  /** New customers, as a share of the existing ones. */
  joining: 0.02,
  /** Immature loans that miss a payment, for loans heading to default and for the others. */
  missDefaulting: 0.25,
  missPerforming: 0.02,
  /** Customers whose balances move. */
  balances: 0.1,
  /** Customers who leave. */
  leaving: 0.005,
} as const;

/** Checks a `--shift` map: known features, positive finite factors. */
export function checkShift(shift: Readonly<Record<string, number>>): void {
  for (const [feature, factor] of Object.entries(shift)) {
    if (!(SHIFTABLE_FEATURES as readonly string[]).includes(feature)) {
      throw new Error(`cannot shift ${feature}: the shiftable features are ${SHIFTABLE_FEATURES.join(', ')}`);
    }
    if (!Number.isFinite(factor) || factor <= 0 || factor > 100) {
      throw new Error(`the factor for ${feature} must be a number above 0 and at most 100, got ${factor}`);
    }
  }
}

/** Advances the bank in `path` by `options.days`. */
export function advanceBank(path: string, options: AdvanceOptions): AdvanceSummary {
  const { days } = options;
  if (!Number.isInteger(days) || days < 1 || days > MAX_ADVANCE_DAYS) {
    throw new Error(`days must be a whole number from 1 to ${MAX_ADVANCE_DAYS}, got ${days}`);
  }
  checkShift(options.shift ?? {});
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = WAL');
    const clock = readBankClock(db);
    const start = daysOf(clock.asOf);
    const end = start + days;
    // Seeded by the bank's seed and date: the same bank advanced the same way changes the same way.
    const random = prng((Math.imul(clock.seed, 2654435761) ^ start) >>> 0);
    const dayIn = () => start + 1 + Math.floor(random() * days);
    const stamp = (day: number) => `${dateFromDays(day)}T${String(Math.floor(random() * 24)).padStart(2, '0')}:00:00Z`;
    const scale = days / 30;
    const chance = (monthly: number) => 1 - Math.pow(1 - monthly, scale);

    const run = db.transaction((): AdvanceSummary => {
      const touch = db.prepare(
        'UPDATE loans SET updated_at = ? WHERE customer_id = ? AND (updated_at IS NULL OR updated_at < ?)',
      );
      const touchCustomer = (customerId: number, when: string) => touch.run(when, customerId, when);

      // Outcomes whose horizon passes in the period become known on that day.
      const maturing = db
        .prepare(
          `SELECT l.loan_id AS id, o.defaulted AS defaulted, o.known_on AS knownOn FROM loans l
           JOIN loan_outcomes o USING (loan_id)
           WHERE l.defaulted_12m IS NULL AND o.known_on <= ? ORDER BY l.loan_id`,
        )
        .all(dateFromDays(end)) as { id: number; defaulted: number; knownOn: string }[];
      const reveal = db.prepare('UPDATE loans SET defaulted_12m = ?, updated_at = ? WHERE loan_id = ?');
      for (const loan of maturing) {
        const day = Math.max(daysOf(loan.knownOn), start + 1);
        reveal.run(loan.defaulted, stamp(day), loan.id);
      }

      // Loans still running miss payments, those heading to default far more often.
      const running = db
        .prepare(
          `SELECT l.loan_id AS id, l.missed_payments_6m AS missed, o.defaulted AS defaulted FROM loans l
           JOIN loan_outcomes o USING (loan_id) WHERE l.defaulted_12m IS NULL ORDER BY l.loan_id`,
        )
        .all() as { id: number; missed: number; defaulted: number }[];
      const miss = db.prepare('UPDATE loans SET missed_payments_6m = ?, updated_at = ? WHERE loan_id = ?');
      const missDefaulting = chance(RATES.missDefaulting);
      const missPerforming = chance(RATES.missPerforming);
      let missedPayments = 0;
      for (const loan of running) {
        if (random() >= (loan.defaulted ? missDefaulting : missPerforming) || loan.missed >= 6) continue;
        miss.run(loan.missed + 1, stamp(dayIn()), loan.id);
        missedPayments++;
      }

      // Balances move; some customers leave (their accounts close at zero). Their loans' rows change too.
      const customers = db
        .prepare('SELECT customer_id AS id FROM customers WHERE left_on IS NULL ORDER BY customer_id')
        .pluck()
        .all() as number[];
      const rebalance = db.prepare(
        'UPDATE customer_aggregates SET total_balance = ROUND(total_balance * ?, 2) WHERE customer_id = ?',
      );
      const leave = db.prepare('UPDATE customers SET left_on = ?, updated_at = ? WHERE customer_id = ?');
      const closeAccounts = db.prepare('UPDATE accounts SET balance = 0 WHERE customer_id = ?');
      const zero = db.prepare('UPDATE customer_aggregates SET n_accounts = 0, total_balance = 0 WHERE customer_id = ?');
      const moved = db.prepare('UPDATE customers SET updated_at = ? WHERE customer_id = ?');
      const balances = chance(RATES.balances);
      const leaving = chance(RATES.leaving);
      const writer = new BankWriter(db, random, clock.seed);
      let balanceChanges = 0;
      let leftCustomers = 0;
      for (const id of customers) {
        const draw = random();
        if (draw < leaving) {
          const when = stamp(dayIn());
          leave.run(when.slice(0, 10), when, id);
          closeAccounts.run(id);
          zero.run(id);
          touchCustomer(id, when);
          leftCustomers++;
        } else if (draw < leaving + balances) {
          const when = stamp(dayIn());
          rebalance.run(Math.exp(0.2 * writer.normal()), id);
          moved.run(when, id);
          touchCustomer(id, when);
          balanceChanges++;
        }
      }

      // New customers join on a day of the period; a third of them take a loan that day.
      const lastId = (db.prepare('SELECT MAX(customer_id) FROM customers').pluck().get() as number | null) ?? 0;
      const joining = Math.max(1, Math.round(customers.length * RATES.joining * scale));
      const loansBefore = writer.loanId;
      for (let i = 1; i <= joining; i++) {
        const day = dayIn();
        writer.customer(lastId + i, { today: day, originate: () => day, joinsToday: true, shift: options.shift });
      }
      const newLoans = writer.loanId - loansBefore;
      const changedLoans = db
        .prepare('SELECT COUNT(*) FROM loans WHERE updated_at >= ?')
        .pluck()
        .get(dateFromDays(start + 1)) as number;

      db.prepare('UPDATE bank_clock SET as_of = ?, advances = advances + 1 WHERE id = 1').run(dateFromDays(end));
      return {
        from: clock.asOf,
        to: dateFromDays(end),
        newCustomers: joining,
        newLoans,
        matured: maturing.length,
        missedPayments,
        balanceChanges,
        leftCustomers,
        changedLoans,
      };
    });
    return run();
  } finally {
    db.close();
  }
}
