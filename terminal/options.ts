/** Options and option values every command line of the product parses the same way. */
import type { Command } from 'commander';
import { UsageError } from './errors';

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
