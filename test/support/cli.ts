/**
 * Runs `mlp` as a user's shell would (a fresh process, off a terminal) and reads what it printed under the CLI
 * convention (cli/README.md): results as JSON on stdout, progress and errors as JSON lines on stderr.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(__dirname, '..', '..');
/** The CLI entry point. */
export const MLP = join(ROOT, 'bin', 'mlp.js');

/** A finished run. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment a test run gets: this one without AWS credentials or profiles (nothing may reach AWS), with
 * the instance metadata lookup off (it would wait on a network that is not there), and `extra` over it.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  const env: NodeJS.ProcessEnv = { ...base, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}

/** Runs `mlp ARGS`. */
export function runMlp(
  args: readonly string[],
  options: { readonly env?: Record<string, string | undefined>; readonly cwd?: string; readonly input?: string } = {},
): CliRun {
  const result = spawnSync(process.execPath, [MLP, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(options.env),
    encoding: 'utf8',
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every JSON line of a stream (throws on a line that is not JSON: off a terminal, nothing else is printed). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line.slice(0, 200)}`);
      }
    });
}

/** The error a failed run printed on stderr: `{level: 'ERROR', message, hint?, exitCode}`. */
export function errorOf(run: CliRun): { message: string; hint?: string; exitCode: number } {
  const errors = jsonLines(run.stderr).filter((line) => line.level === 'ERROR');
  if (errors.length !== 1) throw new Error(`expected one error line, got:\n${run.stderr}`);
  return errors[0] as { message: string; hint?: string; exitCode: number };
}

/** The progress events a run printed on stderr. */
export function progressOf(run: CliRun): Record<string, unknown>[] {
  return jsonLines(run.stderr).filter((line) => 'progress' in line);
}
