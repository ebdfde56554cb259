/**
 * Each command's implementation (`cli/actions/<name>.ts`, the agent's in `onprem-agent/cli/`) is loaded when the
 * command runs, never for `--help` or for another command: `mlp --help` loads commander and the command definitions only. From the prebuilt
 * front bundle (dist/cli/, see bin/cli-bundle.js) the implementations are TypeScript run through tsx.
 */
import { join, resolve } from 'node:path';

/** Defined (true) by the front bundle's build. */
declare const __MLP_CLI_BUNDLE__: boolean | undefined;

const bundled = typeof __MLP_CLI_BUNDLE__ !== 'undefined';
/** The repository root: the bundle lives in dist/cli/, this file in cli/. */
const ROOT = bundled ? resolve(__dirname, '..', '..') : resolve(__dirname, '..');
let typeScriptLoader = false;

/** A loader of a module given by its path from the repository root, which loads it on first call and keeps it. */
export function lazyModule<M>(path: string): () => M {
  let loaded: M | undefined;
  return () => {
    if (loaded) return loaded;
    if (bundled && !typeScriptLoader) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a loader hook, loaded only when needed
      require('tsx/cjs');
      typeScriptLoader = true;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known at run time: never bundled
    loaded = require(join(ROOT, ...path.split('/'))) as M;
    return loaded;
  };
}

/** A loader of `cli/actions/<name>.ts`. */
export function lazyActions<M>(name: string): () => M {
  return lazyModule<M>(`cli/actions/${name}`);
}
