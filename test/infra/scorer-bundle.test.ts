/**
 * The scorer as `cdk deploy` ships it: CDK's own esbuild bundling of the dev serving stack (the other tests
 * synthesize without bundling). The bundle must carry the shared esbuild settings of lib/lambda-bundling.ts,
 * which the cold-start benchmark also uses, and still work: it is loaded and invoked in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkJson from '../../cdk.json';
import { buildPlatform } from '../../lib/platform-app';

const outdir = mkdtempSync(join(tmpdir(), 'mlp-cdk-bundle-'));
let bundle: string;
let template: Template;

beforeAll(() => {
  const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': ['dev/Serving'] } });
  const [stage] = buildPlatform(app, { environments: ['dev'], compliance: false });
  app.synth();
  template = Template.fromStack(stage.serving);
  const [scorer] = Object.values(template.findResources('AWS::Lambda::Function'));
  const assetHash = (scorer.Properties.Code.S3Key as string).replace(/\.zip$/, '');
  bundle = join(outdir, `asset.${assetHash}`, 'index.js');
}, 120_000);

/** Runs `script` in a fresh node process with the bundle path as argv[1]; returns its stdout. */
function runWithBundle(script: string): string {
  const result = spawnSync(process.execPath, ['-e', script, bundle], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, POWERTOOLS_DEV: 'false' },
  });
  if (result.status !== 0) throw new Error(`bundle probe failed: ${result.stderr}`);
  return result.stdout;
}

test('the scorer bundle has no source map, and Node is not started with --enable-source-maps', () => {
  expect(existsSync(bundle)).toBe(true);
  expect(existsSync(`${bundle}.map`)).toBe(false);
  expect(readFileSync(bundle, 'utf8')).not.toContain('sourceMappingURL');
  const [scorer] = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(scorer.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
});

test('loading the bundle does not load node:stream/web, and the handler still answers', () => {
  const out = runWithBundle(`
    const before = new Set(process.moduleLoadList);
    const { handler } = require(process.argv[1]);
    const loaded = process.moduleLoadList.filter((m) => !before.has(m));
    handler({ records: 'not a list' }, { awsRequestId: 'r-1', functionName: 'scorer' }).then((response) => {
      console.log(JSON.stringify({ streamWeb: loaded.includes('NativeModule stream/web'), response }));
    });
  `);
  const { streamWeb, response } = JSON.parse(out.trim().split('\n').pop()!);
  expect(streamWeb).toBe(false);
  expect(response).toMatchObject({ statusCode: 400, requestId: 'r-1' });
  expect(response.error).toMatch(/the body must be/);
});
