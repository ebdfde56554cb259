/**
 * `mlp synth`: synthesizes the CDK app for all or some environments with the project's CDK CLI. Needs no
 * AWS credentials and no network: zones come from config, and notices and telemetry are off in cdk.json.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadEnvironments } from '../../config';

/** Registers `mlp synth`. */
export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description('synthesize CloudFormation templates for every environment (or --env) into cdk.out/')
    .option('--env <names>', 'comma-separated environment names', '')
    .option('--output <dir>', 'cloud assembly directory', 'cdk.out')
    .action((options: { env: string; output: string }) => {
      const names = options.env
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      const configs = loadEnvironments(names); // fail fast, before the CDK CLI starts
      const root = resolve(__dirname, '..', '..');
      const cdk = require.resolve('aws-cdk/bin/cdk', { paths: [root] });
      const output = resolve(options.output);
      const selection = `env=${configs.map((c) => c.name).join(',')}`;
      const args = [cdk, 'synth', '--quiet', '--no-notices', '--output', output, '-c', selection];
      const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
      if (result.status !== 0) throw new Error(`cdk synth failed (exit ${result.status ?? result.signal})`);
      console.log(`templates for ${configs.map((c) => c.name).join(', ')} are in ${output}`);
    });
}
