import {
  ConfigError,
  ENVIRONMENTS,
  type EnvironmentInput,
  environmentNames,
  loadEnvironment,
  loadEnvironments,
} from '../config';
import { parseIpv4Cidr } from '../config/cidr';

const valid = (): EnvironmentInput => structuredClone(ENVIRONMENTS.dev);

/** Loads `name` from a one-environment table built by applying `mutate` to a valid config. */
function loadMutated(mutate: (env: Record<string, unknown>) => void, name = 'dev') {
  const env = valid() as unknown as Record<string, unknown>;
  mutate(env);
  return loadEnvironment(name, { environments: { [name]: env as unknown as EnvironmentInput } });
}

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('environment configuration', () => {
  test('the shipped environments are dev, staging and prod and all validate', () => {
    expect(environmentNames()).toEqual(['dev', 'staging', 'prod']);
    const configs = loadEnvironments();
    expect(configs.map((c) => c.name)).toEqual(['dev', 'staging', 'prod']);
    for (const config of configs) expect(config.onPrem.caCertificatePem).toContain('BEGIN CERTIFICATE');
  });

  test('an unknown environment name fails with the list of known ones', () => {
    expect(problemOf(() => loadEnvironments(['dev', 'qa']))).toBe(
      'unknown environment "qa"; known environments: dev, staging, prod',
    );
  });

  test('inherited object keys are not environments', () => {
    expect(problemOf(() => loadEnvironment('constructor'))).toContain('unknown environment "constructor"');
  });

  test.each([
    ['a missing field', (e: Record<string, unknown>) => delete e.vpcCidr, 'vpcCidr: is required'],
    [
      'a field of the wrong type',
      (e: Record<string, unknown>) => (e.vpcCidr = 5),
      'vpcCidr: Invalid input: expected string, received number',
    ],
    ['a malformed CIDR', (e: Record<string, unknown>) => (e.vpcCidr = '10.0.0.0/33'), 'vpcCidr: "10.0.0.0/33"'],
    [
      'a reason-code table missing a feature',
      (e: Record<string, unknown>) =>
        delete (e.retraining as { explanations: { reasons: Record<string, unknown> } }).explanations.reasons.purpose,
      'retraining.explanations.reasons: the reason-code table does not cover feature(s) purpose',
    ],
    [
      'a reason code with spaces',
      (e: Record<string, unknown>) =>
        ((
          e.retraining as { explanations: { reasons: Record<string, { code: string }> } }
        ).explanations.reasons.region.code = 'R 1'),
      'retraining.explanations.reasons.region.code: must be 1-16 of A-Z, 0-9, _ and -',
    ],
    ['a CIDR with host bits', (e: Record<string, unknown>) => (e.vpcCidr = '10.40.0.1/20'), 'host bits'],
    [
      'a VPC too large',
      (e: Record<string, unknown>) => (e.vpcCidr = '10.0.0.0/8'),
      'vpcCidr: must be between /16 and /24',
    ],
    [
      'an unknown region',
      (e: Record<string, unknown>) => (e.region = 'eu-west-9'),
      'region: unknown region "eu-west-9"',
    ],
    [
      'a single availability zone',
      (e: Record<string, unknown>) => (e.availabilityZones = ['eu-west-2a']),
      'availabilityZones: needs at least 2',
    ],
    [
      'a zone of another region',
      (e: Record<string, unknown>) => (e.availabilityZones = ['eu-west-2a', 'us-east-1a']),
      'availabilityZones.1: "us-east-1a" is not an availability zone of eu-west-2',
    ],
    [
      'a repeated zone',
      (e: Record<string, unknown>) => (e.availabilityZones = ['eu-west-2a', 'eu-west-2a']),
      'availabilityZones: lists a zone twice',
    ],
    [
      'an on-prem CIDR overlapping the VPC',
      (e: Record<string, unknown>) => (e.onPremCidrs = ['10.40.8.0/24']),
      'onPremCidrs.0: "10.40.8.0/24" overlaps the VPC CIDR',
    ],
    ['a bad account id', (e: Record<string, unknown>) => (e.account = '1234'), 'account: must be a 12-digit'],
    [
      'an unsupported log retention',
      (e: Record<string, unknown>) => (e.logRetentionDays = 10),
      'logRetentionDays: must be one of',
    ],
    ['a bad e-mail', (e: Record<string, unknown>) => (e.notificationEmail = 'ops'), 'notificationEmail'],
    ['an unknown field', (e: Record<string, unknown>) => (e.vpcCider = '10.0.0.0/16'), 'vpcCider: unknown field'],
    [
      'a bad instance type',
      (e: Record<string, unknown>) => ((e.instanceTypes as Record<string, string>).training = 'm5.large'),
      'instanceTypes.training: must be a SageMaker instance type',
    ],
    [
      'a dataset name that is not a safe prefix',
      (e: Record<string, unknown>) => ((e.onPrem as Record<string, unknown>).datasets = ['../etc']),
      'onPrem.datasets.0',
    ],
    [
      'an unknown training-set engine',
      (e: Record<string, unknown>) => {
        const retraining = e.retraining as { trainingSet: Record<string, unknown> };
        retraining.trainingSet = { ...retraining.trainingSet, engine: 'spark' };
      },
      'retraining.trainingSet.engine',
    ],
  ])('%s fails naming the environment and the field', (_label, mutate, expected) => {
    const message = problemOf(() => loadMutated(mutate));
    expect(message).toContain('environment "dev" is misconfigured');
    expect(message).toContain(expected);
  });

  test('staging and prod must retain data; prod must lock its audit bucket', () => {
    expect(problemOf(() => loadMutated((e) => (e.retainData = false), 'staging'))).toContain(
      'environment "staging" is misconfigured:\n  retainData: must be true outside dev',
    );
    expect(problemOf(() => loadMutated((e) => (e.retainData = true), 'prod'))).toContain(
      'environment "prod" is misconfigured:\n  auditObjectLock: is required in prod',
    );
  });

  test('the CA bundle must exist and hold unexpired CA certificates', () => {
    const missing = problemOf(() =>
      loadMutated((e) => ((e.onPrem as Record<string, unknown>).caCertificateFile = 'no/such.pem')),
    );
    expect(missing).toMatch(/onPrem.caCertificateFile: cannot read .*no\/such.pem \(ENOENT\)/);
    const notPem = problemOf(() =>
      loadMutated((e) => ((e.onPrem as Record<string, unknown>).caCertificateFile = 'package.json')),
    );
    expect(notPem).toContain('holds no PEM certificate');
    const expired = problemOf(() =>
      loadEnvironment('dev', { environments: { dev: valid() }, now: new Date('2100-01-01T00:00:00Z') }),
    );
    expect(expired).toMatch(/onPrem.caCertificateFile: certificate 1 in .* expired/);
  });
});

describe('parseIpv4Cidr', () => {
  test('accepts canonical blocks and rejects the rest with a reason', () => {
    expect(parseIpv4Cidr('10.40.0.0/20')).toEqual({ network: (10 * 256 + 40) * 65536, prefix: 20 });
    expect(parseIpv4Cidr('0.0.0.0/0')).toEqual({ network: 0, prefix: 0 });
    expect(parseIpv4Cidr('256.0.0.0/8')).toContain('not an IPv4 CIDR');
    expect(parseIpv4Cidr('10.0.0.0')).toContain('not an IPv4 CIDR');
    expect(parseIpv4Cidr('10.0.0.0/40')).toContain('above 32');
  });
});
