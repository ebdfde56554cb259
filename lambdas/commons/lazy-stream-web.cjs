/**
 * Stand-in for `node:stream/web` in the Lambda bundles (an esbuild alias, see lib/lambda-bundling.ts).
 * @middy/core imports ReadableStream at load only to recognise streamed responses, which these handlers never
 * return, and loading node:stream/web costs ~3 ms of every cold start. The getter loads the real module on
 * first use, so behaviour is unchanged. (`stream/web`, without the prefix, is not caught by the alias.)
 */
module.exports = {
  get ReadableStream() {
    return require('stream/web').ReadableStream;
  },
};
