/**
 * The CLI convention (cli/README.md) as every command follows it: help with examples, environment variables and
 * exit codes; commander's usage errors exit 2 like the project's; `--json` wherever a command prints results; off
 * a terminal, results are JSON lines and errors one JSON line; nothing reaches AWS unless `--env` asks; `--help`
 * loads no command's implementation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../cli/main';
import { ENVIRONMENT_VARIABLES } from '../terminal/help';
import { cliEnv, errorOf, jsonLines, MLP, ROOT, runMlp } from './support/cli';

/** Every runnable command of the program, by its full name (`agent run`, `env show`, …). */
function leafCommands(command: Command, prefix = ''): Map<string, Command> {
  const found = new Map<string, Command>();
  for (const sub of command.commands) {
    const name = `${prefix}${sub.name()}`;
    for (const [n, c] of leafCommands(sub, `${name} `)) found.set(n, c);
    // A command with subcommands runs on its own too when it takes options (`seed` beside `seed advance`).
    if (sub.commands.length === 0 || sub.options.length > 0) found.set(name, sub);
  }
  return found;
}

const commands = leafCommands(buildProgram());
/** Commands that print a result (as opposed to serving until stopped). */
const PRINTING = [
  'demo',
  'seed',
  'seed advance',
  'dataset list',
  'dataset show',
  'dataset export',
  'agent run',
  'retrain',
  'approve',
  'models',
  'lineage',
  'predict',
  'score',
  'env list',
  'env show',
  'synth',
  'drift',
  'monitor',
  'report',
  'audit',
  'card',
];

test('the commands are the documented ones', () => {
  expect([...commands.keys()].sort()).toEqual([...PRINTING, 'serve'].sort());
  const readme = readFileSync(join(ROOT, 'cli', 'README.md'), 'utf8');
  for (const name of commands.keys())
    expect({ name, documented: readme.includes(`mlp ${name}`) }).toEqual({ name, documented: true });
});

test.each([...commands.keys()])('mlp %s --help shows examples, the exit codes and only known variables', (name) => {
  const help = runMlp([...name.split(' '), '--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('Examples:\n  $ ');
  expect(help.stdout).toContain('Exit codes: 0 done, 1 failed, 2 usage or configuration, 3 refused by a policy');
  const variables = /\nEnvironment:\n((?: {2}\S+ .*\n)+)/.exec(help.stdout)?.[1] ?? '';
  for (const line of variables.trim().split('\n').filter(Boolean)) {
    expect(Object.keys(ENVIRONMENT_VARIABLES)).toContain(line.trim().split(/\s+/)[0]);
  }
  expect(help.stdout.includes('--json')).toBe(PRINTING.includes(name));
});

test('commands that read local state or act in AWS name the variables that steer them', () => {
  for (const [name, variable] of [
    ['models', 'MLP_HOME'],
    ['retrain', 'MLP_PYTHON'],
    ['retrain', 'AWS_PROFILE'],
    ['demo', 'MLP_PSEUDONYM_KEY'],
    ['serve', 'MODEL_URI'],
    ['agent run', 'MLP_PSEUDONYM_KEY'],
  ]) {
    expect(runMlp([...name.split(' '), '--help']).stdout).toMatch(
      new RegExp(`\\nEnvironment:\\n(?: {2}.*\\n)*  ${variable} `),
    );
  }
});

test("commander's own usage errors exit 2 with one error line and a pointer to help", () => {
  for (const args of [
    ['frobnicate'],
    ['models', '--frob'],
    ['predict', '--input', 'x'],
    ['lineage'],
    ['seed', '--db'],
  ]) {
    const result = runMlp(args);
    expect({ args, status: result.status }).toEqual({ args, status: 2 });
    expect(errorOf(result)).toMatchObject({ exitCode: 2, hint: 'see mlp --help, or mlp COMMAND --help' });
    expect(result.stdout).toBe('');
  }
  expect(errorOf(runMlp(['frobnicate'])).message).toBe("mlp: unknown command 'frobnicate'");
  const bare = runMlp([]);
  expect(bare.status).toBe(2);
  expect(bare.stderr).toContain('Usage: mlp');
});

test('env list prints one JSON line per environment off a terminal; env show --json one document', () => {
  const list = runMlp(['env', 'list']);
  expect(list.status).toBe(0);
  expect(jsonLines(list.stdout).map((e) => e.name)).toEqual(['dev', 'staging', 'prod']);
  const shown = runMlp(['env', 'show', 'prod', '--json']);
  expect(JSON.parse(shown.stdout)).toMatchObject({
    name: 'prod',
    region: 'eu-west-2',
    onPrem: { caCertificatePem: '1 certificate(s)' },
  });
  expect(shown.stdout).not.toContain('BEGIN CERTIFICATE');
});

test('an unknown environment exits 2 naming the known ones, from the CLI and from the CDK app', () => {
  const synth = runMlp(['synth', 'qa']);
  expect(synth.status).toBe(2);
  expect(errorOf(synth).message).toBe('mlp: unknown environment "qa"; known environments: dev, staging, prod');
  const app = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'bin/platform.ts'], {
    cwd: ROOT,
    env: cliEnv({ MLP_ENVS: 'dev,qa' }),
    encoding: 'utf8',
  });
  expect(app.status).toBe(1);
  expect(app.stderr).toContain('mlp: unknown environment "qa"; known environments: dev, staging, prod');
});

test('synth writes templates with no AWS credentials and no context lookup; --json prints only the result', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'mlp-synth-')), 'cdk.out');
  const result = runMlp(['synth', 'dev', '--output', out, '--json']);
  expect(result.status).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ environments: ['dev'], output: out });
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  expect(manifest.missing).toBeUndefined();
  const templates = readdirSync(join(out, 'assembly-dev')).filter((f) => f.endsWith('.template.json'));
  expect(templates.map((t) => t.replace(/[0-9A-F]{8}\.template\.json$/, '')).sort()).toEqual([
    'devAlerts',
    'devAudit',
    'devData',
    'devKeys',
    'devMonitoring',
    'devNetwork',
    'devOnPremAccess',
    'devRetraining',
    'devServing',
  ]);
  expect(existsSync(join(out, 'assembly-staging'))).toBe(false);
});

test('--env reaches AWS only when asked: without credentials it says so and suggests AWS_PROFILE', () => {
  const home = mkdtempSync(join(tmpdir(), 'mlp-no-aws-'));
  const request = join(home, 'request.json');
  writeFileSync(request, '{"records": [{}]}');
  // An empty credentials file: the default chain finds nothing (and the instance metadata lookup is off).
  const env = { HOME: home, AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'), AWS_CONFIG_FILE: join(home, 'none') };
  for (const args of [
    ['models', '--env', 'dev'],
    ['retrain', '--env', 'dev'],
    ['score', '--env', 'dev', '--input', request],
  ]) {
    const result = runMlp(args, { env });
    expect({ args, status: result.status }).toEqual({ args, status: 2 });
    expect(errorOf(result)).toMatchObject({
      message: expect.stringContaining('AWS refused the credentials or found none'),
      hint: expect.stringContaining('AWS_PROFILE'),
    });
  }
  // Without --env the same commands act locally and never ask for credentials.
  expect(runMlp(['models', '--json'], { env: { ...env, MLP_HOME: join(home, 'mlp') } }).status).toBe(0);
});

test('--help loads commander and the command definitions only: no TypeScript loader, no implementation', () => {
  const probe = join(mkdtempSync(join(tmpdir(), 'mlp-modules-')), 'probe.js');
  writeFileSync(
    probe,
    "process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n",
  );
  const run = spawnSync(process.execPath, ['-r', probe, MLP, 'retrain', '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status).toBe(0);
  const modules = JSON.parse(/MODULES (.*)/.exec(run.stderr)![1]) as string[];
  expect(modules.filter((m) => m.includes('/node_modules/tsx/'))).toEqual([]);
  expect(modules.filter((m) => m.includes('/cli/actions/') || m.includes('aws-cdk-lib'))).toEqual([]);
  expect(modules.length).toBeLessThan(15);
});
