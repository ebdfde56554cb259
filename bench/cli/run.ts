/**
 * `npm run bench:cli`: how long `mlp --help` and `mlp COMMAND --help` take from process start to exit, beside a
 * bare `node -e 0` in the same run (the floor no CLI goes below) and beside the sources run through tsx (what
 * bin/mlp.js falls back to when the front bundle cannot be built). Runs are interleaved, one process each; every
 * figure is the median of its runs. The goal is under 300 ms for every help. The last line is one JSON object.
 *
 * BENCH_CLI_RUNS: runs per command (default 15).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { buildProgram } from '../../cli/main';

const ROOT = resolve(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? '15');
const GOAL_MS = 300;

/** Wall time of one process, in milliseconds. */
function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return ms;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function main(): void {
  const commands = buildProgram().commands.flatMap((c) =>
    c.commands.length ? c.commands.map((s) => [c.name(), s.name()]) : [[c.name()]],
  );
  const cases: Record<string, string[]> = {
    'node -e 0': ['-e', '0'],
    'mlp --help': ['bin/mlp.js', '--help'],
    ...Object.fromEntries(commands.map((c) => [`mlp ${c.join(' ')} --help`, ['bin/mlp.js', ...c, '--help']])),
    'mlp --help (sources through tsx)': [
      '--require',
      'tsx/cjs',
      '-e',
      "require('./cli/main.ts').run(['node', 'mlp', '--help'])",
    ],
  };
  wallMs(cases['mlp --help']); // builds the front bundle if the sources changed, outside the timings
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let run = 0; run < RUNS; run++) for (const [name, args] of Object.entries(cases)) times[name].push(wallMs(args));
  const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const floor = medians['node -e 0'];
  for (const [name, ms] of Object.entries(medians)) {
    console.log(`${name.padEnd(40)} ${ms.toFixed(1).padStart(7)} ms  (${(ms / floor).toFixed(2)}x node -e 0)`);
  }
  const helps = Object.entries(medians).filter(([k]) => k.startsWith('mlp ') && !k.includes('tsx'));
  const slowest = helps.reduce((a, b) => (b[1] > a[1] ? b : a));
  console.log(
    JSON.stringify({
      runs: RUNS,
      node_ms: Number(floor.toFixed(1)),
      help_ms: Number(medians['mlp --help'].toFixed(1)),
      slowest_help: slowest[0],
      slowest_help_ms: Number(slowest[1].toFixed(1)),
      slowest_over_node: Number((slowest[1] / floor).toFixed(2)),
      tsx_help_ms: Number(medians['mlp --help (sources through tsx)'].toFixed(1)),
      goal_ms: GOAL_MS,
      goal_met: slowest[1] < GOAL_MS,
    }),
  );
}

main();
