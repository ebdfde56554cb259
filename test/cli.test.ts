import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

/** Runs a command from the repository root with no AWS credentials or profile in its environment. */
function run(args: string[], extraEnv: Record<string, string> = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  const result = spawnSync(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mlp CLI', () => {
  test('--help lists the commands', () => {
    const { status, stdout } = run(['bin/mlp.js', '--help']);
    expect(status).toBe(0);
    expect(stdout).toMatch(/Usage: mlp/);
    expect(stdout).toMatch(/synth \[options\]/);
    expect(stdout).toMatch(/env\s/);
  });

  test('an unknown command exits non-zero with help', () => {
    const { status, stderr } = run(['bin/mlp.js', 'frobnicate']);
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/unknown command 'frobnicate'/);
  });

  test('env show prints the validated config without the CA bundle', () => {
    const { status, stdout } = run(['bin/mlp.js', 'env', 'show', 'prod']);
    expect(status).toBe(0);
    const shown = JSON.parse(stdout);
    expect(shown).toMatchObject({
      name: 'prod',
      region: 'eu-west-2',
      onPrem: { caCertificatePem: '1 certificate(s)' },
    });
    expect(stdout).not.toContain('BEGIN CERTIFICATE');
  });

  test('synth of an unknown environment exits 2 naming the known ones', () => {
    const { status, stderr } = run(['bin/mlp.js', 'synth', '--env', 'qa']);
    expect(status).toBe(2);
    expect(stderr.trim()).toBe('mlp: unknown environment "qa"; known environments: dev, staging, prod');
  });

  test('the CDK app rejects an unknown environment with the list of known ones', () => {
    const { status, stderr } = run(['node_modules/tsx/dist/cli.mjs', 'bin/platform.ts'], { MLP_ENVS: 'dev,qa' });
    expect(status).toBe(1);
    expect(stderr).toContain('mlp: unknown environment "qa"; known environments: dev, staging, prod');
  });

  test('synth writes templates with no AWS credentials and needs no context lookup', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mlp-synth-')), 'cdk.out');
    const { status, stdout, stderr } = run(['bin/mlp.js', 'synth', '--env', 'dev', '--output', out]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toContain(`templates for dev are in ${out}`);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toBeUndefined();
    const templates = readdirSync(join(out, 'assembly-dev')).filter((f) => f.endsWith('.template.json'));
    expect(templates.map((t) => t.replace(/[0-9A-F]{8}\.template\.json$/, '')).sort()).toEqual([
      'devAlerts',
      'devAudit',
      'devData',
      'devKeys',
      'devNetwork',
      'devOnPremAccess',
      'devRetraining',
      'devServing',
    ]);
    expect(existsSync(join(out, 'assembly-staging'))).toBe(false);
  });
});
