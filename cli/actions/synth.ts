/** `mlp synth`: runs the project's CDK CLI for the named environments, its output on stderr. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { loadEnvironments } from '../../config';
import { CommandOutput } from '../../terminal/output';

const ROOT = resolve(__dirname, '..', '..');

/** `mlp synth [ENV...]`. */
export async function synth(names: string[], options: { output: string; json?: boolean }): Promise<void> {
  const configs = loadEnvironments(names); // fail fast, before the CDK CLI starts
  const environments = configs.map((c) => c.name);
  const output = resolve(options.output);
  const out = new CommandOutput(options);
  const progress = out.progress();
  const task = progress.task(`synth ${environments.join(', ')}`);
  const cdk = require.resolve('aws-cdk/bin/cdk', { paths: [ROOT] });
  const args = [cdk, 'synth', '--quiet', '--no-notices', '--output', output, '-c', `env=${environments.join(',')}`];
  // The CDK CLI's own output (warnings, findings) goes to stderr: stdout carries only this command's result.
  const status = await new Promise<number | string>((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
    child.once('error', fail);
    child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown'));
  });
  if (status !== 0) {
    task.fail(`cdk synth exited with ${status}`);
    progress.stop();
    throw new Error(`cdk synth failed (exit ${status}); its messages are above`);
  }
  task.done(output);
  progress.stop();
  out.result(
    { environments, output },
    { human: (r) => `templates for ${r.environments.join(', ')} are in ${r.output}` },
  );
}
