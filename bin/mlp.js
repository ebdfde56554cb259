#!/usr/bin/env node
// Entry point of the `mlp` CLI: the prebuilt front bundle when it matches the sources (see cli-bundle.js), else
// the TypeScript sources through tsx. Either way each command's implementation is loaded only when it runs.
const { frontBundle } = require('./cli-bundle.js');

const bundle = frontBundle();
if (bundle) {
  require(bundle).run(process.argv);
} else {
  require('tsx/cjs');
  require('../cli/main.ts').run(process.argv);
}
