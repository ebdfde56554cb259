/** Parsing of option values shared by several commands. */
import { UsageError } from '../usage-error';

/** A TCP port number (0 = any free port). */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0..65535, got "${text}"`);
  return port;
}

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
