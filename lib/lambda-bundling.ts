/**
 * esbuild settings shared by the Lambda bundles the CDK app deploys and the benchmark that measures the
 * scorer's cold start, so both build the same code. Plain data: no aws-cdk-lib here.
 */

/** Target of the bundles: the nodejs22.x runtime. */
export const BUNDLE_TARGET = 'node22';

/** Modules the runtime provides, left out of the bundles. */
export const BUNDLE_EXTERNALS: readonly string[] = ['@aws-sdk/*'];

/**
 * Imports replaced with lazy stand-ins (esbuild `alias`), as paths relative to the repository root: modules a
 * dependency loads at start-up for a feature our handlers do not use.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'node:stream/web': './lambdas/commons/lazy-stream-web.cjs',
};
