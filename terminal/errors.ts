/**
 * What can end a command, and the exit code each outcome has (the convention in cli/README.md):
 * 0 done, 1 failed, 2 usage or configuration, 3 refused by a policy (gate, k-anonymity, approval).
 * Every error a user sees says what is wrong and, where there is one, what to do about it.
 */

/** Exit codes of every `mlp` command. */
export const EXIT = { done: 0, failed: 1, usage: 2, refused: 3 } as const;

/** A mistake in how a command was called or configured: exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** What to do about it, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that could not do its work, with what to do about it: exit 1. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The platform refused to go on because a policy said no (promotion gate, k-anonymity, approval): exit 3. */
export class PolicyRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyRefusal';
  }
}

/**
 * Ends a command whose outcome is already printed (a retraining that was not promoted, a request the server
 * refused) with its exit code and no second message.
 */
export class ReportedOutcome extends Error {
  constructor(
    readonly exitCode: number,
    message = `exit ${exitCode}`,
  ) {
    super(message);
    this.name = 'ReportedOutcome';
  }
}

/** An error as the user sees it: one message, an optional hint, and the exit code. */
export interface DescribedError {
  readonly message: string;
  readonly hint?: string;
  readonly exitCode: number;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'already exists',
};

/**
 * Errors that mean something the user gave is wrong — an option, a config, a file that is not what it must be
 * (a model, a feature spec) — by name.
 */
const USAGE_ERRORS = new Set([
  'UsageError',
  'ConfigError',
  'AgentConfigError',
  'SourceUnavailable',
  'FeatureSpecError',
  'ModelFormatError',
]);

/** AWS SDK errors that mean "no usable credentials", by name. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'TokenRefreshRequired',
]);

/**
 * Turns anything thrown by a command into what the user is told. Errors of other modules are recognised by
 * name (config, agent config, extract refusal) so this module stays free of their imports.
 */
export function describeError(error: unknown): DescribedError {
  if (!(error instanceof Error)) return { message: String(error), exitCode: EXIT.failed };
  // By name, not instanceof: the front bundle (dist/cli) and the actions (loaded from source) each have a copy
  // of these classes; errors of other modules are recognised the same way, so this module imports none of them.
  const { name } = error;
  const hint = (error as { hint?: string }).hint;
  const withHint = hint ? { hint } : {};
  if (USAGE_ERRORS.has(name)) {
    return { message: error.message, ...withHint, exitCode: EXIT.usage };
  }
  if (name === 'PolicyRefusal') return { message: error.message, exitCode: EXIT.refused };
  if (name === 'CommandError') return { message: error.message, ...withHint, exitCode: EXIT.failed };
  if (name === 'ExtractAbort') return { message: `extract refused: ${error.message}`, exitCode: EXIT.refused };
  const errno = error as NodeJS.ErrnoException;
  if (errno.code && errno.path && ERRNO_TEXT[errno.code]) {
    return { message: `${errno.path}: ${ERRNO_TEXT[errno.code]}`, exitCode: EXIT.usage };
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    return {
      message: `AWS refused the credentials or found none (${name})`,
      hint: 'set AWS_PROFILE to a profile for the environment (aws configure sso, then aws sso login) or export AWS credentials',
      exitCode: EXIT.usage,
    };
  }
  return { message: error.message, exitCode: EXIT.failed };
}

/** The exit code of a {@link ReportedOutcome} (recognised by name, see {@link describeError}), else undefined. */
export function reportedExitCode(error: unknown): number | undefined {
  if (error instanceof Error && error.name === 'ReportedOutcome') return (error as ReportedOutcome).exitCode;
  return undefined;
}
