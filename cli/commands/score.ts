/**
 * `mlp score`: sends a JSON scoring request to the deployed private API of an environment (SigV4-signed with
 * the default credential chain) or to a local `mlp serve`, and prints the response.
 */
import { readFileSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Command } from 'commander';
import { loadEnvironment } from '../../config';
import { UsageError } from '../usage-error';

/** Stack output holding the scoring endpoint URL (see the serving stack). */
export const SCORING_URL_OUTPUT = 'ScoringUrl';

/** Registers `mlp score`. */
export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description('POST a scoring request ({"records": [...]}) to an environment or to a local mlp serve')
    .requiredOption('--input <file>', 'JSON request body')
    .option('--env <name>', 'environment whose private API to call (SigV4, default credentials)')
    .option('--local', 'call a local mlp serve')
    .option('--url <url>', 'endpoint URL (default: local http://127.0.0.1:8080/score, or the stack output)')
    .action(async (options: { input: string; env?: string; local?: boolean; url?: string }) => {
      if (Boolean(options.env) === Boolean(options.local))
        throw new UsageError('give exactly one of --env NAME or --local');
      const body = readFileSync(options.input, 'utf8');
      const response = options.local
        ? await fetch(options.url ?? 'http://127.0.0.1:8080/score', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          })
        : await signedPost(options.env!, options.url, body);
      const text = await response.text();
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      if (!response.ok) process.exitCode = 1;
    });
}

async function signedPost(envName: string, explicitUrl: string | undefined, body: string): Promise<Response> {
  const config = loadEnvironment(envName);
  const url = new URL(explicitUrl ?? (await scoringUrl(envName, config.region)));
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  const signer = new SignatureV4({
    service: 'execute-api',
    region: config.region,
    credentials: defaultProvider(),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    path: url.pathname,
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  return fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
}

async function scoringUrl(envName: string, region: string): Promise<string> {
  return stackOutput(`${envName}-Serving`, SCORING_URL_OUTPUT, region, 'pass --url');
}

/** A deployed stack's output value (default credential chain), or a UsageError naming what is missing. */
export async function stackOutput(stackName: string, key: string, region: string, hint: string): Promise<string> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const result = await new CloudFormationClient({ region }).send(new DescribeStacksCommand({ StackName: stackName }));
  const value = result.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (!value) throw new UsageError(`stack ${stackName} has no ${key} output; ${hint}`);
  return value;
}
