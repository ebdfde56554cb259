/**
 * Loads and validates environment configuration. Every failure is a {@link ConfigError} whose message names
 * the environment and the field, so `cdk synth` and `mlp` stop before any resource is modelled.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeIssues } from '../contracts/describe-issues';
import { ENVIRONMENTS } from './environments';
import { environmentInputSchema, type EnvironmentInput } from './schema';

export { DATASET_NAME, type EnvironmentInput } from './schema';
export { ENVIRONMENTS } from './environments';

/** Raised for any invalid or unknown environment configuration. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

type Parsed = ReturnType<(typeof environmentInputSchema)['parse']>;

/** A validated environment, with the CA bundle read from disk. */
export interface EnvironmentConfig extends Omit<Parsed, 'onPrem'> {
  /** Environment name (`dev`, `staging`, `prod`): also the CDK stage id. */
  readonly name: string;
  readonly onPrem: Parsed['onPrem'] & {
    /** The CA bundle's PEM text, validated as one or more unexpired CA certificates. */
    readonly caCertificatePem: string;
  };
}

/** Options for {@link loadEnvironment}; defaults suit the repository layout. */
export interface LoadOptions {
  /** Environment table to read. @default ENVIRONMENTS */
  readonly environments?: Readonly<Record<string, EnvironmentInput>>;
  /** Directory that relative file paths in the config are resolved against. @default the repository root */
  readonly rootDir?: string;
  /** Clock for certificate expiry checks. @default new Date() */
  readonly now?: Date;
}

/** Names of the configured environments, in declaration order. */
export function environmentNames(environments = ENVIRONMENTS): string[] {
  return Object.keys(environments);
}

/** Validates and returns one environment's configuration. */
export function loadEnvironment(name: string, options: LoadOptions = {}): EnvironmentConfig {
  const environments = options.environments ?? ENVIRONMENTS;
  if (!Object.prototype.hasOwnProperty.call(environments, name)) {
    throw new ConfigError(
      `unknown environment "${name}"; known environments: ${environmentNames(environments).join(', ')}`,
    );
  }
  const result = environmentInputSchema.safeParse(environments[name], { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error.issues);
    throw new ConfigError(`environment "${name}" is misconfigured:\n  ${problems.join('\n  ')}`);
  }
  const env = result.data;
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`environment "${name}" is misconfigured:\n  ${field}: ${message}`);
  };
  if (name !== 'dev' && !env.retainData) fail('retainData', 'must be true outside dev');
  if (name === 'prod' && !env.auditObjectLock) fail('auditObjectLock', 'is required in prod');
  if (name === 'prod' && !env.retraining.requireApproval) fail('retraining.requireApproval', 'must be true in prod');
  const rootDir = options.rootDir ?? resolve(__dirname, '..');
  const caCertificatePem = readCaBundle(resolve(rootDir, env.onPrem.caCertificateFile), options.now ?? new Date());
  if (typeof caCertificatePem !== 'string') return fail('onPrem.caCertificateFile', caCertificatePem.problem);
  return { ...env, name, onPrem: { ...env.onPrem, caCertificatePem } };
}

/**
 * Validates the named environments (all of them when `names` is empty). Unknown names fail with the list of
 * known ones; duplicate names are collapsed.
 */
export function loadEnvironments(names: readonly string[] = [], options: LoadOptions = {}): EnvironmentConfig[] {
  const wanted = names.length > 0 ? [...new Set(names)] : environmentNames(options.environments);
  return wanted.map((name) => loadEnvironment(name, options));
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

function readCaBundle(path: string, now: Date): string | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { problem: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return { problem: `${path} holds no PEM certificate` };
  for (const [i, block] of blocks.entries()) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      return { problem: `certificate ${i + 1} in ${path} is not valid X.509` };
    }
    if (!cert.ca) return { problem: `certificate ${i + 1} in ${path} is not a CA certificate` };
    if (new Date(cert.validTo) <= now) return { problem: `certificate ${i + 1} in ${path} expired ${cert.validTo}` };
  }
  return blocks.join('\n') + '\n';
}
