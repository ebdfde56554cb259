// The layers of the repository, enforced on every `npm test` (dependency-cruiser). Imports only point down:
//
//   bin → cli → local → lib → stepfunctions → lambdas ─┐
//                 └──────────────→ onprem-agent ────────┤→ config, terminal → contracts
//
// Each folder may import only the folders listed for it below; the CDK only in lib/ and bin/; no circles. The agent
// bundle (onprem-agent/) therefore carries nothing from cli/, stepfunctions/, lib/ or lambdas/, and the cloud side
// nothing from the agent. A violation names its rule, e.g. `layer-stepfunctions`.

/** What each folder may import (besides itself and npm packages). */
const MAY_IMPORT = {
  bin: ['cli', 'lib', 'config', 'contracts'],
  cli: ['local', 'lib', 'stepfunctions', 'lambdas', 'onprem-agent', 'config', 'terminal', 'contracts'],
  local: ['lib', 'stepfunctions', 'lambdas', 'onprem-agent', 'config', 'contracts'],
  lib: ['stepfunctions', 'lambdas', 'config', 'contracts'],
  stepfunctions: ['lambdas', 'config', 'contracts'],
  lambdas: ['contracts'],
  'onprem-agent': ['terminal', 'contracts'],
  config: ['contracts'],
  terminal: [],
  contracts: [],
};
const FOLDERS = Object.keys(MAY_IMPORT);

/** One rule per folder: it imports nothing of the repository but what MAY_IMPORT lists. */
const layerRules = FOLDERS.map((folder) => {
  const forbidden = FOLDERS.filter((other) => other !== folder && !MAY_IMPORT[folder].includes(other));
  return {
    name: `layer-${folder}`,
    comment: `${folder}/ may import only ${MAY_IMPORT[folder].join(', ') || 'nothing of this repository'}`,
    severity: 'error',
    from: { path: `^${folder}/` },
    to: { path: forbidden.length ? `^(${forbidden.join('|')})/` : '^$' },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'cdk-only-in-lib-and-bin',
      comment: 'aws-cdk-lib, constructs and cdk-nag belong to the infrastructure (lib/, bin/) and its tests',
      severity: 'error',
      from: { path: '^(cli|local|stepfunctions|lambdas|onprem-agent|config|terminal|contracts)/' },
      to: { path: '(^|/)node_modules/(aws-cdk-lib|constructs|cdk-nag)/|^(aws-cdk-lib|constructs|cdk-nag)(/|$)' },
    },
    {
      name: 'no-circular',
      comment: 'modules that import each other (directly or through others) cannot be understood one at a time',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing is a typo or a missing dependency',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|cdk\\.out|\\.mlp|coverage)/' },
    // Type-only imports count too: a layer's types are part of what it depends on.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
    // Resolve packages' subpath exports (`@aws-lambda-powertools/logger/middleware`, `tsx/cjs`) as Node does.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'import', 'default', 'types'],
      mainFields: ['main', 'types'],
    },
  },
};
