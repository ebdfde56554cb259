/** `npm run demo` as a new user runs it: the whole lifecycle in a fresh $MLP_HOME. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

jest.setTimeout(180_000);

const mlp = resolve(__dirname, '..', '..', 'bin', 'mlp.js');
// A fixed pseudonym key makes the split, and so the model and its gate decision, repeatable.
const KEY = 'demo-test-key-'.repeat(4);
const demo = (home: string, extraEnv: Record<string, string> = {}, ...args: string[]) =>
  spawnSync(process.execPath, [mlp, 'demo', '--customers', '20000', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MLP_HOME: home, MLP_PSEUDONYM_KEY: KEY, ...extraEnv },
  });

test('the demo seeds, extracts, retrains, serves and scores, and can run again in its own home', () => {
  const home = join(mkdtempSync(join(tmpdir(), 'mlp-demo-')), 'home');
  for (let run = 0; run < 2; run++) {
    const result = demo(home);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/1\. seeded 20000 customers/);
    expect(result.stdout).toMatch(/gate: promoted; model version mlp-dev-loans\/1/);
    expect(result.stdout.match(/P\(default\) 0\.\d{4}/g)).toHaveLength(3);
    expect(result.stdout).toMatch(/timings: seed [\d.]+ s, agent [\d.]+ s, retrain [\d.]+ s, score [\d.]+ s/);
  }
  expect(existsSync(join(home, 'registry.json'))).toBe(true);
});

test('the demo never clears a directory it did not make, and names the missing XGBoost set-up', () => {
  const foreign = mkdtempSync(join(tmpdir(), 'mlp-demo-foreign-'));
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  const refused = demo(foreign);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toContain('already holds other files');
  expect(existsSync(join(foreign, 'notes.txt'))).toBe(true);

  const fresh = join(foreign, 'new-home');
  mkdirSync(fresh);
  const noXgboost = demo(fresh, { MLP_PYTHON: join(foreign, 'no-such-python') });
  expect(noXgboost.status).toBe(2);
  expect(noXgboost.stderr).toContain('sudo apt-get install -y python3-xgboost');
  expect(existsSync(join(fresh, 'bank.db'))).toBe(false);
});

test('a candidate that is not promoted ends the demo cleanly: nothing deployed, nothing scored', () => {
  // prod requires a named approver, which the demo never gives: the candidate is declined at Approve.
  const home = join(mkdtempSync(join(tmpdir(), 'mlp-demo-prod-')), 'home');
  const result = demo(home, {}, '--env', 'prod');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/gate: promoted/);
  expect(result.stdout).toContain('4. nothing deployed, so nothing to score');
  expect(result.stdout).not.toMatch(/P\(default\)/);
  expect(existsSync(join(home, 'serving', 'live.json'))).toBe(false);
});
