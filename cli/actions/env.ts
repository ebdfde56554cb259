/** `mlp env list|show`. */
import { environmentNames, loadEnvironment, type EnvironmentConfig } from '../../config';
import { CommandOutput } from '../../terminal/output';

/** `mlp env list`. */
export function listEnvironments(options: { json?: boolean }): void {
  const environments = environmentNames().map((name) => {
    const config = loadEnvironment(name);
    return { name, account: config.account, region: config.region, availabilityZones: config.availabilityZones };
  });
  new CommandOutput(options).result(
    { environments },
    {
      human: ({ environments: list }) =>
        list.map((e) => `${e.name.padEnd(8)} ${e.account}  ${e.region.padEnd(10)} ${e.availabilityZones.join(',')}`),
      lines: ({ environments: list }) => list,
    },
  );
}

/** `mlp env show NAME`. */
export function showEnvironment(name: string, options: { json?: boolean }): void {
  new CommandOutput(options).result(shown(loadEnvironment(name)), {
    human: (config) => JSON.stringify(config, null, 2),
  });
}

/** The configuration as printed: the CA bundle reduced to its certificate count. */
function shown(config: EnvironmentConfig) {
  const certificates = config.onPrem.caCertificatePem.match(/BEGIN CERTIFICATE/g)?.length ?? 0;
  return { ...config, onPrem: { ...config.onPrem, caCertificatePem: `${certificates} certificate(s)` } };
}
