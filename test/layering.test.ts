/**
 * The layer rules (.dependency-cruiser.cjs) hold for the repository, and they bite: a tree that breaks each of
 * them is reported rule by rule, by the rule's name.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './support/cli';

const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const FOLDERS = [
  'bin',
  'cli',
  'local',
  'lib',
  'stepfunctions',
  'lambdas',
  'onprem-agent',
  'config',
  'terminal',
  'contracts',
];

/** The rules' violations in `cwd`, as `rule: from → to`. */
function violations(cwd: string, folders: string[]): string[] {
  const run = spawnSync(
    process.execPath,
    [DEPCRUISE, '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json', ...folders],
    { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (!run.stdout) throw new Error(`dependency-cruiser failed: ${run.stderr}`);
  const result = JSON.parse(run.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

test('the repository keeps its layers: no violation', () => {
  expect(violations(ROOT, FOLDERS)).toEqual([]);
});

test('each kind of violation is reported with the name of the rule it breaks', () => {
  const tree = mkdtempSync(join(tmpdir(), 'mlp-layers-'));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', allowJs: true } }),
    'contracts/names.ts': "import { stage } from '../lib/stage';\nexport const name = stage;\n",
    'lib/stage.ts': "export const stage = 'dev';\n",
    'stepfunctions/step.ts': "import { App } from 'aws-cdk-lib';\nexport const app = App;\n",
    'onprem-agent/agent.ts': "import { handler } from '../lambdas/a';\nexport const agent = handler;\n",
    'lambdas/a.ts': "import { b } from './b';\nexport const handler = b;\n",
    'lambdas/b.ts': "import { handler } from './a';\nexport const b = () => handler;\n",
    'local/runner.ts': "import { nothing } from './missing';\nexport const run = nothing;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
  const found = violations(tree, ['contracts', 'lib', 'stepfunctions', 'onprem-agent', 'lambdas', 'local']);
  expect(found).toEqual(
    expect.arrayContaining([
      'layer-contracts: contracts/names.ts → lib/stage.ts',
      'layer-onprem-agent: onprem-agent/agent.ts → lambdas/a.ts',
      expect.stringMatching(/^cdk-only-in-lib-and-bin: stepfunctions\/step\.ts → aws-cdk-lib$/),
      expect.stringMatching(/^no-circular: lambdas\/(a|b)\.ts → lambdas\/(a|b)\.ts$/),
      'not-to-unresolvable: local/runner.ts → ./missing',
    ]),
  );
});
