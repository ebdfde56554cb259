/** The `--customers` option of `seed` and `demo`: how large a synthetic bank to build. */
import { UsageError } from '../../terminal/errors';

/** Largest synthetic bank the CLI builds. */
const MAX_CUSTOMERS = 5_000_000;

/** A `--customers` count from `min` to 5,000,000. */
export function parseCustomers(text: string, min: number): number {
  const customers = Number(text);
  if (!Number.isInteger(customers) || customers < min || customers > MAX_CUSTOMERS) {
    throw new UsageError(
      `--customers must be a whole number from ${min.toLocaleString('en-GB')} to ${MAX_CUSTOMERS.toLocaleString('en-GB')}, got "${text}"`,
    );
  }
  return customers;
}
