/** Options and option values shared by several commands (the convention in cli/README.md). */
import type { Command } from 'commander';
import { UsageError } from '../errors';

/** Where a command acts: the local twin of an environment under `$MLP_HOME`, or its deployment in AWS. */
export type Target = { readonly kind: 'local'; readonly env: string } | { readonly kind: 'aws'; readonly env: string };

/** The options a {@link Target} is read from. */
export interface TargetOptions {
  readonly local?: string | true;
  readonly env?: string;
}

/** Adds `--local [env]` (the default) and `--env NAME` (AWS). */
export function withTarget(command: Command): Command {
  return command
    .option('--local [env]', 'act on the local twin of an environment under $MLP_HOME (the default; env: dev)')
    .option('--env <name>', 'act on the deployed environment NAME in AWS (default credential chain, e.g. AWS_PROFILE)');
}

/** The target named by the options; local dev when neither is given. */
export function targetOf(options: TargetOptions): Target {
  if (options.local !== undefined && options.env !== undefined) {
    throw new UsageError('give --local [ENV] or --env ENV, not both');
  }
  if (options.env !== undefined) return { kind: 'aws', env: options.env };
  return { kind: 'local', env: typeof options.local === 'string' ? options.local : 'dev' };
}

/** Adds `--json`. */
export function withJson(command: Command): Command {
  return command.option('--json', 'print the result as one JSON document on stdout (and nothing else there)');
}

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
