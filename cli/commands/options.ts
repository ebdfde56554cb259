/** Where a command acts (the convention in cli/README.md): `--local [env]` or `--env NAME`. */
import type { Command } from 'commander';
import { UsageError } from '../../terminal/errors';

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
