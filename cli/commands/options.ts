/** Parsing of option values shared by several commands. */
import { UsageError } from '../usage-error';

/** A TCP port number (0 = any free port). */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0..65535, got "${text}"`);
  return port;
}
