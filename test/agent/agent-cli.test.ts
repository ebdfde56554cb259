/** `mlp seed` and `mlp agent run` as an operator runs them. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const mlp = join(root, 'bin', 'mlp.js');
const dir = mkdtempSync(join(tmpdir(), 'mlp-agent-cli-'));
const env = { ...process.env, MLP_PSEUDONYM_KEY: 'k'.repeat(48) };
const run = (...args: string[]) => spawnSync(process.execPath, [mlp, ...args], { encoding: 'utf8', env, cwd: dir });

// The example config expects ../../.mlp/… relative to itself: give it that layout inside the temp dir.
const configDir = join(dir, 'onprem-agent', 'examples');
const config = join(configDir, 'synthetic-bank.yaml');
mkdirSync(configDir, { recursive: true });
copyFileSync(join(root, 'onprem-agent', 'examples', 'synthetic-bank.yaml'), config);

test('seed builds the bank deterministically and refuses to overwrite it', () => {
  const first = run('seed', '--customers', '20000', '--db', join(dir, '.mlp', 'bank.db'));
  expect(first.status).toBe(0);
  expect(first.stdout).toMatch(/seeded .*bank\.db: 20000 customers, \d+ accounts, \d+ loans/);
  const other = run('seed', '--customers', '20000', '--db', join(dir, 'other.db'));
  expect(other.stdout.replace(/ in [\d.]+ s/, '').replace(/seeded \S+/, '')).toBe(
    first.stdout.replace(/ in [\d.]+ s/, '').replace(/seeded \S+/, ''),
  );
  const again = run('seed', '--customers', '20000', '--db', join(dir, '.mlp', 'bank.db'));
  expect(again.status).toBe(1);
  expect(again.stderr).toContain('already holds a bank');
  expect(run('seed', '--customers', 'lots', '--db', join(dir, 'x.db')).status).toBe(2);
});

test('agent run: dry run writes nothing, a run stores a manifest, a bad config exits 2, a refusal exits 3', () => {
  const dry = run('agent', 'run', '--config', config, '--dry-run');
  expect(dry.status).toBe(0);
  expect(JSON.parse(dry.stdout)).toMatchObject({
    dataset: 'loans',
    sql: expect.stringContaining('FROM "loan_features"'),
  });
  expect(existsSync(join(dir, '.mlp', 's3'))).toBe(false);

  const real = run('agent', 'run', '--config', config);
  expect(real.status).toBe(0);
  const lines = real.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  // Off a terminal, progress is JSON lines: the read (at most one every 30 s), then each stored part.
  expect(lines[0]).toMatchObject({ message: 'rows read', dataset: 'loans', rows: expect.any(Number) });
  expect(lines.filter((l) => l.message === 'part stored').length).toBeGreaterThan(0);
  const result = lines.pop();
  expect(result).toMatchObject({
    message: 'extract stored',
    dataset: 'loans',
    manifestKey: expect.stringMatching(/_manifest\.json$/),
  });
  expect(
    JSON.parse(readFileSync(join(dir, '.mlp', 's3', 'mlp-local-landing', ...result.manifestKey.split('/')), 'utf8'))
      .totalRows,
  ).toBe(result.rows);

  const broken = join(dir, 'broken.yaml');
  writeFileSync(
    broken,
    readFileSync(config, 'utf8').replace('primaryKey: loan_id', 'primaryKey: "loan_id; drop table loans"'),
  );
  const bad = run('agent', 'run', '--config', broken);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('datasets.0.primaryKey: must be a plain SQL identifier');

  const strict = join(configDir, 'strict.yaml');
  writeFileSync(
    strict,
    readFileSync(config, 'utf8')
      .replace('k: 5', 'k: 500')
      .replace('stateDir: ../../.mlp/agent-state', 'stateDir: ../../.mlp/state-strict'),
  );
  const refused = run('agent', 'run', '--config', strict);
  expect(refused.status).toBe(3);
  expect(refused.stderr).toMatch(/^mlp: extract refused: loans: k-anonymity \(k=500\)/);
  expect(refused.stderr).not.toMatch(/\d{2}[A-Z]?\s?\d[A-Z]{2}/); // no postcode or other value in the message
});

test('agent run without the key in the environment names the variable, not a value', () => {
  const result = spawnSync(process.execPath, [mlp, 'agent', 'run', '--config', config], {
    encoding: 'utf8',
    env: { ...process.env, MLP_PSEUDONYM_KEY: '' },
  });
  expect(result.status).toBe(2);
  expect(result.stderr.trim()).toBe('mlp: pseudonymisation key: environment variable MLP_PSEUDONYM_KEY is not set');
});

test('agent run reaches the Oracle source: a missing password is named, never guessed or printed', () => {
  const oracle = join(configDir, 'oracle.yaml');
  writeFileSync(
    oracle,
    readFileSync(config, 'utf8').replace(
      /source:\n {2}type: sqlite\n {2}path: [^\n]*\n/,
      'source:\n  type: oracle\n  connectString: db.bank.example:1521/FEATURES\n  user: mlp_reader\n  password:\n    env: MLP_TEST_ORACLE_PASSWORD\n',
    ),
  );
  expect(readFileSync(oracle, 'utf8')).toContain('type: oracle');
  const result = spawnSync(process.execPath, [mlp, 'agent', 'run', '--config', oracle], {
    encoding: 'utf8',
    env: { ...env, MLP_TEST_ORACLE_PASSWORD: '' },
  });
  expect(result.status).toBe(2);
  expect(result.stderr.trim()).toBe('mlp: Oracle password: environment variable MLP_TEST_ORACLE_PASSWORD is not set');
});
