/** `mlp env list|show`: inspect the validated per-environment configuration without synthesizing. */
import type { Command } from 'commander';
import { environmentNames, loadEnvironment } from '../../config';

/** Registers `mlp env`. */
export function registerEnvCommand(program: Command): void {
  const env = program.command('env').description('inspect environment configuration (config/environments.ts)');
  env
    .command('list')
    .description('list environments with account, region and zones')
    .action(() => {
      for (const name of environmentNames()) {
        const config = loadEnvironment(name);
        console.log(`${name}\t${config.account}\t${config.region}\t${config.availabilityZones.join(',')}`);
      }
    });
  env
    .command('show')
    .argument('<name>', 'environment name')
    .description('print one validated environment as JSON (the CA bundle is summarised, not printed)')
    .action((name: string) => {
      const config = loadEnvironment(name);
      const certificates = config.onPrem.caCertificatePem.match(/BEGIN CERTIFICATE/g)?.length ?? 0;
      const shown = { ...config, onPrem: { ...config.onPrem, caCertificatePem: `${certificates} certificate(s)` } };
      console.log(JSON.stringify(shown, null, 2));
    });
}
