/**
 * esbuild settings shared by the Lambda bundles the CDK app deploys and the benchmark that measures the
 * scorer's cold start, so both build the same code. Plain data: no aws-cdk-lib here.
 */

/** Target of the bundles: the nodejs22.x runtime. */
export const BUNDLE_TARGET = 'node22';

/**
 * Modules left out of the bundles: the AWS SDK, which the runtime provides, and DuckDB, a native module that
 * esbuild cannot bundle. Only the function that runs DuckDB (Prepare) carries it, installed beside its bundle
 * for the function's architecture ({@link NATIVE_MODULES}); the others never load it.
 */
export const BUNDLE_EXTERNALS: readonly string[] = ['@aws-sdk/*', '@duckdb/*'];

/** The native module of the curated store, installed into the bundle of the function that uses it. */
export const NATIVE_MODULES = { duckdb: '@duckdb/node-api' } as const;

/**
 * npm settings that make `npm ci` in a bundle directory install the native packages of the Lambda platform
 * (Amazon Linux 2023 on arm64, glibc) whatever machine builds the bundle: DuckDB ships one optional package per
 * platform, and npm otherwise picks the build machine's.
 */
export const LAMBDA_NPM_PLATFORM: Readonly<Record<string, string>> = { os: 'linux', cpu: 'arm64', libc: 'glibc' };

/**
 * Imports replaced with lazy stand-ins (esbuild `alias`), as paths relative to the repository root: modules a
 * dependency loads at start-up for a feature our handlers do not use.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'node:stream/web': './lambdas/commons/lazy-stream-web.cjs',
};
