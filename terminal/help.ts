/**
 * What `--help` shows beyond options: examples, the environment variables a command reads, and the exit codes
 * every command shares. One table of variables, so each is described once and the same everywhere.
 */
import type { Command } from 'commander';

/** Every environment variable an `mlp` command reads, with what it does. */
export const ENVIRONMENT_VARIABLES = {
  MLP_HOME: 'local state directory: bank, object store, registries, aliases, logs (default .mlp/)',
  MLP_PYTHON: 'python with XGBoost 1.7.4 for local training (default /usr/bin/python3)',
  MLP_PSEUDONYM_KEY: 'pseudonymisation key, 32 bytes or more (agent configs name it; the demo uses it if set)',
  AWS_PROFILE: 'AWS credentials profile, for commands given --env',
  MODEL_URI: 'mlp serve: model to serve when --model is not given',
  FEATURE_SPEC_URI: 'mlp serve: feature spec when --spec is not given',
  MODEL_VERSION: 'mlp serve: version label reported with every prediction',
  MODEL_SHA256: 'mlp serve: expected SHA-256 of the model file (refuses another)',
  BASELINE_URI: "mlp serve: the model's drift baseline (baseline.json), for /metrics",
} as const;

/** Name of a variable in {@link ENVIRONMENT_VARIABLES}. */
export type EnvironmentVariable = keyof typeof ENVIRONMENT_VARIABLES;

/** The exit codes, as `--help` states them. */
export const EXIT_CODES_HELP =
  'Exit codes: 0 done, 1 failed, 2 usage or configuration, 3 refused by a policy (gate, k-anonymity, approval).';

/** Adds examples, environment variables and exit codes to a command's help. */
export function withHelp(
  command: Command,
  help: {
    readonly examples: readonly string[];
    readonly env?: readonly EnvironmentVariable[];
    readonly notes?: string;
  },
): Command {
  const sections = [`\nExamples:\n${help.examples.map((e) => `  $ ${e}`).join('\n')}`];
  if (help.notes) sections.push(`\n${help.notes}`);
  if (help.env?.length) {
    const width = Math.max(...help.env.map((name) => name.length));
    sections.push(
      `\nEnvironment:\n${help.env.map((name) => `  ${name.padEnd(width)}  ${ENVIRONMENT_VARIABLES[name]}`).join('\n')}`,
    );
  }
  sections.push(`\n${EXIT_CODES_HELP}`);
  return command.addHelpText('after', sections.join('\n'));
}
