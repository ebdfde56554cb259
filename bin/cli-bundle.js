// The mlp CLI's front bundle, dist/cli/mlp.js: commander and the command definitions (cli/main.ts and what it
// imports), built by esbuild at install time (npm's prepare) so that `mlp --help` starts without tsx. It is used
// only while every source file it was built from is unchanged (SHA-256 per file, dist/cli/inputs.json); after an
// edit it is rebuilt on the next run, or, where esbuild is absent, the sources run through tsx instead.
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const OUT_DIR = join(ROOT, 'dist', 'cli');
const BUNDLE = join(OUT_DIR, 'mlp.js');
const INPUTS = join(OUT_DIR, 'inputs.json');

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** True when the bundle exists and was built from the sources as they are now. */
function isFresh() {
  try {
    const inputs = JSON.parse(readFileSync(INPUTS, 'utf8'));
    return Object.entries(inputs.files).every(([file, hash]) => sha256(join(ROOT, file)) === hash);
  } catch {
    return false;
  }
}

/** Builds the bundle (atomically: concurrent runs each rename a complete file into place). */
function build() {
  const esbuild = require('esbuild');
  mkdirSync(OUT_DIR, { recursive: true });
  const suffix = `.${process.pid}.tmp`;
  const result = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: ['cli/main.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    define: { __MLP_CLI_BUNDLE__: 'true' },
    outfile: BUNDLE + suffix,
    metafile: true,
    logLevel: 'error',
  });
  const files = {};
  for (const file of Object.keys(result.metafile.inputs)) files[file] = sha256(join(ROOT, file));
  writeFileSync(INPUTS + suffix, `${JSON.stringify({ files }, null, 2)}\n`);
  renameSync(BUNDLE + suffix, BUNDLE);
  renameSync(INPUTS + suffix, INPUTS);
}

/** The bundle's path, built first if needed; undefined when it cannot be built here. */
function frontBundle() {
  if (isFresh()) return BUNDLE;
  try {
    build();
    return BUNDLE;
  } catch {
    return undefined;
  }
}

module.exports = { frontBundle };

if (require.main === module) {
  build();
  console.log(`built ${BUNDLE}`);
}
