/** `mlp seed` and `mlp agent run` as an operator runs them, off a terminal (cron, CI). */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnv, errorOf, jsonLines, MLP, progressOf, ROOT, runMlp } from '../support/cli';

// The example config keeps its paths under ${MLP_HOME}: here the default, .mlp/ under the working directory.
const dir = mkdtempSync(join(tmpdir(), 'mlp-agent-cli-'));
const home = join(dir, '.mlp');
const config = join(ROOT, 'onprem-agent', 'examples', 'synthetic-bank.yaml');
const KEY = 'k'.repeat(48);
const run = (args: string[], env: Record<string, string | undefined> = {}) =>
  runMlp(args, { cwd: dir, env: { MLP_HOME: undefined, MLP_PSEUDONYM_KEY: KEY, ...env } });

test('seed builds the bank in $MLP_HOME deterministically, refuses to overwrite it and leaves nothing when refused', () => {
  const first = run(['seed', '--customers', '20000']);
  expect(first.status).toBe(0);
  const summary = JSON.parse(first.stdout);
  expect(summary).toMatchObject({ db: join(home, 'bank.db'), customers: 20000, loans: expect.any(Number) });
  expect(progressOf(first).map((p) => p.event)).toEqual(expect.arrayContaining(['start', 'done']));
  const other = run(['seed', '--customers', '20000', '--db', join(dir, 'other.db'), '--json']);
  const { db: _db, seconds: _s, ...same } = JSON.parse(other.stdout);
  const { db: _db1, seconds: _s1, ...firstSame } = summary;
  expect(same).toEqual(firstSame);
  expect(same).toMatchObject({ customers: 20000, asOf: '2026-10-31' });
  expect(same.labelledLoans).toBeLessThan(same.loans);

  const again = run(['seed', '--customers', '20000']);
  expect(again.status).toBe(2);
  expect(errorOf(again).message).toBe(
    `mlp: ${join(home, 'bank.db')} already exists (a bank is never overwritten); remove it or choose another path`,
  );
  const badCount = run(['seed', '--customers', 'lots', '--db', join(dir, 'x.db')]);
  expect(badCount.status).toBe(2);
  expect(errorOf(badCount).message).toContain('--customers must be a whole number');
  expect(readdirSync(dir).sort()).toEqual(['.mlp', 'other.db']); // no partial file of a refused seed
});

test('a seed killed mid-way leaves no bank; the next seed of that path clears its partial file and succeeds', async () => {
  const target = join(dir, 'killed', 'bank.db');
  mkdirSync(join(dir, 'killed'));
  const child = spawn(process.execPath, [MLP, 'seed', '--customers', '2000000', '--db', target], { env: cliEnv() });
  // Killed once the seed is under way (its partial file exists), however slow this machine is.
  const started = Date.now();
  while (!readdirSync(join(dir, 'killed')).length && Date.now() - started < 60_000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const left = readdirSync(join(dir, 'killed'));
  expect(left.some((f) => f.startsWith('bank.db.partial-'))).toBe(true);
  expect(left).not.toContain('bank.db');
  expect(run(['seed', '--customers', '2000', '--db', target]).status).toBe(0);
  expect(readdirSync(join(dir, 'killed'))).toEqual(['bank.db']);
});

test('agent run: dry run writes nothing, a run stores a manifest, the next is incremental, a refusal exits 3', () => {
  const dry = run(['agent', 'run', '--config', config, '--dry-run', '--json']);
  expect(dry.status).toBe(0);
  expect(JSON.parse(dry.stdout)).toMatchObject({
    dryRun: true,
    datasets: [
      { dataset: 'loans', sql: expect.stringContaining('FROM "loan_features"') },
      { dataset: 'loan_outcomes', sql: expect.stringContaining('FROM "loan_outcomes_known"') },
      { dataset: 'loan_attributes', sql: expect.stringContaining('FROM "loan_protected_attributes"') },
    ],
  });
  expect(existsSync(join(home, 's3'))).toBe(false);

  const real = run(['agent', 'run', '--config', config]);
  expect(real.status).toBe(0);
  // Off a terminal, progress is JSON lines on stderr; the result is one JSON line per dataset on stdout.
  const progress = progressOf(real);
  expect(progress[0]).toMatchObject({ progress: 'loans: read and anonymise', event: 'start' });
  expect(progress.at(-1)).toMatchObject({ progress: 'loan_attributes: store parts', event: 'done' });
  const results = jsonLines(real.stdout) as { dataset: string; rows: number; manifestKey: string }[];
  expect(results.map((r) => r.dataset)).toEqual(['loans', 'loan_outcomes', 'loan_attributes']);
  for (const result of results) {
    expect(result.manifestKey).toMatch(new RegExp(`^landing/${result.dataset}/.*/_manifest\\.json$`));
    const manifest = join(home, 's3', 'mlp-local-landing', ...result.manifestKey.split('/'));
    expect(JSON.parse(readFileSync(manifest, 'utf8')).totalRows).toBe(result.rows);
  }
  const next = run(['agent', 'run', '--config', config, '--json']);
  expect(JSON.parse(next.stdout)).toMatchObject({
    datasets: [
      { dataset: 'loans', rows: 0, manifestKey: null },
      { dataset: 'loan_outcomes', rows: 0, manifestKey: null },
      { dataset: 'loan_attributes', rows: 0, manifestKey: null },
    ],
  });

  const broken = join(dir, 'broken.yaml');
  writeFileSync(
    broken,
    readFileSync(config, 'utf8').replace('primaryKey: loan_id', 'primaryKey: "loan_id; drop table loans"'),
  );
  const bad = run(['agent', 'run', '--config', broken]);
  expect(bad.status).toBe(2);
  expect(errorOf(bad).message).toContain('datasets.0.primaryKey: must be a plain SQL identifier');

  const strict = join(dir, 'strict.yaml');
  writeFileSync(
    strict,
    readFileSync(config, 'utf8')
      .replace('k: 5', 'k: 500')
      .replace("stateDir: '${MLP_HOME}/agent-state'", "stateDir: '${MLP_HOME}/state-strict'"),
  );
  const refused = run(['agent', 'run', '--config', strict]);
  expect(refused.status).toBe(3);
  const refusal = errorOf(refused);
  expect(refusal).toMatchObject({
    exitCode: 3,
    message: expect.stringMatching(/^mlp: extract refused: loans: k-anonymity \(k=500\)/),
  });
  expect(refused.stderr).not.toMatch(/\d{2}[A-Z]?\s?\d[A-Z]{2}/); // no postcode or other value in the message
});

test('agent config paths: ${MLP_HOME} follows the variable; another ${...} is refused; a missing config is named', () => {
  const elsewhere = join(dir, 'elsewhere');
  const dry = run(['agent', 'run', '--config', config, '--dry-run', '--json'], { MLP_HOME: elsewhere });
  // A fresh home has no bank: the run names the file the config points at, under the variable's home.
  expect(dry.status).toBe(2);
  expect(errorOf(dry).message).toContain(join(elsewhere, 'bank.db'));

  const injected = join(dir, 'injected.yaml');
  writeFileSync(injected, readFileSync(config, 'utf8').replace("'${MLP_HOME}/bank.db'", "'${HOME}/bank.db'"));
  const refused = run(['agent', 'run', '--config', injected]);
  expect(refused.status).toBe(2);
  expect(errorOf(refused).message).toContain('only ${MLP_HOME}, at the start of a path, is expanded');

  const missing = run(['agent', 'run', '--config', join(dir, 'nope.yaml')]);
  expect(missing.status).toBe(2);
  expect(errorOf(missing).message).toBe(`mlp: cannot read the agent config ${join(dir, 'nope.yaml')}: no such file`);
});

test('agent run without the key in the environment names the variable, not a value', () => {
  const result = run(['agent', 'run', '--config', config], { MLP_PSEUDONYM_KEY: '' });
  expect(result.status).toBe(2);
  expect(errorOf(result).message).toBe('mlp: pseudonymisation key: environment variable MLP_PSEUDONYM_KEY is not set');
});

test('agent run reaches the Oracle source: a missing password is named, never guessed or printed', () => {
  const oracle = join(dir, 'oracle.yaml');
  writeFileSync(
    oracle,
    readFileSync(config, 'utf8').replace(
      /source:\n {2}type: sqlite\n {2}path: [^\n]*\n/,
      'source:\n  type: oracle\n  connectString: db.bank.example:1521/FEATURES\n  user: mlp_reader\n  password:\n    env: MLP_TEST_ORACLE_PASSWORD\n',
    ),
  );
  expect(readFileSync(oracle, 'utf8')).toContain('type: oracle');
  const result = run(['agent', 'run', '--config', oracle], { MLP_TEST_ORACLE_PASSWORD: '' });
  expect(result.status).toBe(2);
  expect(errorOf(result).message).toBe(
    'mlp: Oracle password: environment variable MLP_TEST_ORACLE_PASSWORD is not set',
  );
});

test('seed advance moves the bank a month on, and refuses what it cannot do by name', () => {
  const bank = join(dir, 'advance.db');
  expect(run(['seed', '--customers', '5000', '--db', bank]).status).toBe(0);
  const advanced = run(['seed', 'advance', '--months', '1', '--db', bank, '--json']);
  expect(advanced.status).toBe(0);
  expect(JSON.parse(advanced.stdout)).toMatchObject({
    from: '2026-10-31',
    to: '2026-11-30',
    days: 30,
    newLoans: expect.any(Number),
    matured: expect.any(Number),
  });
  for (const [args, message] of [
    [['--days', '0'], '--days must be a whole number from 1 to 3650'],
    [['--days', '3', '--months', '1'], 'give exactly one of --days N and --months N'],
    [['--days', '3', '--shift', 'customer_id=2'], 'cannot shift customer_id'],
    [['--days', '3', '--shift', 'loan_amount'], '--shift takes feature=factor'],
  ] as const) {
    const refused = run(['seed', 'advance', ...args, '--db', bank]);
    expect({ status: refused.status, message: errorOf(refused).message }).toEqual({
      status: 2,
      message: expect.stringContaining(message),
    });
  }
  const missing = run(['seed', 'advance', '--days', '3', '--db', join(dir, 'absent.db')]);
  expect(errorOf(missing).message).toContain('does not exist: run mlp seed first');
  // The refused advances changed nothing: the bank is a month on, once.
  const again = JSON.parse(run(['seed', 'advance', '--days', '1', '--db', bank, '--json']).stdout);
  expect(again.from).toBe('2026-11-30');
});
