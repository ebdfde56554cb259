/**
 * The README is part of the product: its Quick start installs what CI installs, and its command blocks run as
 * written, in order, on a fresh home. The blocks are read from README.md itself, so the test fails when the README
 * drifts from the code. Nothing is rewritten; `MLP_PSEUDONYM_KEY` is fixed, as the README says makes the demo
 * repeatable. A block preceded by `<!-- readme-test: skip, REASON -->` is not run; every such block names why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnv, ROOT } from './support/cli';
import { ciDebianPackages } from './support/ci-script';

jest.setTimeout(600_000);

/** A fenced bash block of the README. */
interface Block {
  readonly section: string;
  readonly line: number;
  readonly code: string;
  /** Why it is not run, when it is marked so. */
  readonly skip?: string;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const blocks: Block[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) section = lines[i].slice(3).trim();
    if (lines[i].trim() !== '```bash') continue;
    const start = i;
    const code: string[] = [];
    while (lines[++i].trim() !== '```') code.push(lines[i]);
    let previous = start - 1;
    while (previous > 0 && lines[previous].trim() === '') previous--;
    const skip = /^<!-- readme-test: skip, (.+) -->$/.exec(lines[previous].trim())?.[1];
    blocks.push({ section, line: start + 1, code: code.join('\n'), ...(skip ? { skip } : {}) });
  }
  return blocks;
}

/** True when a process of the session `pgid` still runs a few seconds after the script ended (then it is killed). */
function leftoverProcesses(pgid: number): boolean {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waited = 0; alive() && waited < 5000; waited += 100) spawnSync('sleep', ['0.1']);
  if (!alive()) return false;
  process.kill(-pgid, 'SIGKILL');
  return true;
}

const blocks = readmeBlocks();
const quickStart = blocks.filter((b) => b.section === 'Quick start');

test('the Quick start is two commands: set-up and demo in one, then the tests, exactly as CI runs them', () => {
  expect(quickStart.map((b) => b.skip)).toEqual([undefined, undefined]);
  const [setUp, tests] = quickStart.map((b) => b.code.trim());
  const install =
    /^sudo apt-get update && sudo apt-get install -y --no-install-recommends ([a-z0-9 .+-]+) && npm ci && npm run demo$/.exec(
      setUp,
    );
  expect(install).not.toBeNull();
  // The packages are .ci/run's, and this machine has them: installing them here again would change nothing.
  const packages = install![1].trim().split(/\s+/);
  expect(packages).toEqual(ciDebianPackages());
  for (const name of packages) {
    const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout;
    expect({ name, status }).toEqual({ name, status: 'install ok installed' });
  }
  // CI runs npm ci and then exactly the README's test command.
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
    .trim()
    .split('\n');
  expect(ci).toContain('npm ci --no-audit --no-fund');
  expect(ci.at(-1)).toBe(tests);
  expect(tests).toBe('npm test');
});

test('only blocks that need AWS or take minutes are skipped, each saying why', () => {
  const skipped = blocks.filter((b) => b.skip);
  expect(skipped.map((b) => b.skip)).toEqual([
    'needs an AWS account and credentials',
    'benchmarks take minutes and are measured by hand, not in the test suite',
  ]);
  expect(skipped[0].code).toMatch(/cdk (bootstrap|deploy)/);
  expect(skipped[1].code.split('\n').every((line) => line.startsWith('npm run bench:'))).toBe(true);
  expect(blocks.filter((b) => !b.skip && b.section !== 'Quick start').length).toBeGreaterThanOrEqual(6);
});

test('the Quick start demo and every other block run as written, in order, on a fresh home', () => {
  const home = join(mkdtempSync(join(tmpdir(), 'mlp-readme-')), 'home');
  const runnable = blocks.filter((b) => !b.skip && b.section !== 'Quick start');
  const script = [
    'set -euo pipefail',
    // The Quick start's installation is checked above; npm ci is what CI ran before this suite.
    'echo "::README Quick start: npm run demo" >&2',
    'npm run demo',
    ...runnable.flatMap((b) => [`echo "::README line ${b.line} (${b.section})" >&2`, b.code]),
  ].join('\n');
  // In a session of its own, with output to files: whatever a block leaves running can neither hold this test's
  // pipes open nor outlive it unnoticed.
  const dir = mkdtempSync(join(tmpdir(), 'mlp-readme-run-'));
  const [outFile, errFile, pidFile] = ['stdout', 'stderr', 'pgid'].map((name) => join(dir, name));
  const status = spawnSync('setsid', ['bash', '-c', `echo $$ > ${pidFile}\n${script}`], {
    cwd: ROOT,
    // A fixed key keeps the demo's split, and so its models and gate decisions, the same on every run.
    env: cliEnv({ MLP_HOME: home, MLP_PSEUDONYM_KEY: 'demo-test-key-'.repeat(4) }),
    stdio: ['ignore', openSync(outFile, 'w'), openSync(errFile, 'w')],
    timeout: 480_000,
  }).status;
  const run = { status, stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8') };
  expect(leftoverProcesses(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  const where = run.stderr.match(/::README [^\n]*/g)?.pop();
  expect({ status: run.status, where, tail: run.status === 0 ? '' : run.stderr.slice(-3000) }).toEqual({
    status: 0,
    where: `::README line ${runnable.at(-1)!.line} (${runnable.at(-1)!.section})`,
    tail: '',
  });
  // What the blocks promise happened: prod got its own champion, dev kept its own.
  expect(run.stdout).toContain('"outcome":"Promoted","modelVersion":"mlp-prod-loans/1"');
  // The demo's second month promoted dev's second model; prod's retrain did not touch it.
  expect(JSON.parse(readFileSync(join(home, 'serving', 'dev', 'live.json'), 'utf8')).modelVersion).toBe(
    'mlp-dev-loans/2',
  );
  expect(JSON.parse(readFileSync(join(home, 'serving', 'prod', 'live.json'), 'utf8')).modelVersion).toBe(
    'mlp-prod-loans/1',
  );
});
