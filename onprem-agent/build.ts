/**
 * `npm run build:agent`: bundles the agent into `dist/onprem-agent/` — one minified `mlp-agent.js` plus a
 * package.json pinning the native drivers it loads at run time — to copy onto a bank server and run with
 * `npm ci --omit=dev && node mlp-agent.js run --config agent.yaml`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/** Packages the bundle loads at run time instead of inlining (native addons, optional drivers). */
export const AGENT_EXTERNALS = ['better-sqlite3', 'oracledb', '@aws-sdk/*'];

/** Builds the bundle into `outDir` and returns the bundle's path. */
export async function buildAgent(outDir = resolve(__dirname, '..', 'dist', 'onprem-agent')): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'mlp-agent.js');
  await build({
    entryPoints: [join(__dirname, 'main.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: AGENT_EXTERNALS,
    outfile,
    logLevel: 'error',
  });
  const root = JSON.parse(readFileSync(resolve(__dirname, '..', 'package.json'), 'utf8'));
  const pin = (name: string) => root.dependencies[name] ?? root.devDependencies[name];
  writeFileSync(
    join(outDir, 'package.json'),
    `${JSON.stringify(
      {
        name: 'mlp-agent',
        version: root.version,
        private: true,
        bin: { 'mlp-agent': 'mlp-agent.js' },
        engines: root.engines,
        dependencies: { 'better-sqlite3': pin('better-sqlite3'), '@aws-sdk/client-s3': pin('@aws-sdk/client-s3') },
        allowScripts: { 'better-sqlite3': true },
      },
      null,
      2,
    )}\n`,
  );
  return outfile;
}

if (require.main === module) {
  buildAgent().then(
    (file) => console.log(`built ${file}`),
    (error: Error) => {
      console.error(`build:agent failed: ${error.message}`);
      process.exit(1);
    },
  );
}
