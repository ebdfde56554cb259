#!/usr/bin/env node
// Entry point of the `mlp` CLI: runs the TypeScript sources through tsx, so the repo needs no build step.
require('tsx/cjs');
require('../cli/main.ts')
  .main(process.argv)
  .catch((error) => {
    console.error(`mlp: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
