/** `mlp score`. */
import { readFileSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadEnvironment } from '../../config';
import { CommandError, ReportedOutcome, UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { stackOutput } from './aws-stack';

/** Options of `mlp score`. */
export interface ScoreOptions {
  readonly input: string;
  readonly env?: string;
  readonly url?: string;
  readonly wait?: string;
  readonly json?: boolean;
}

const LOCAL_URL = 'http://127.0.0.1:8080/score';

/** `mlp score`. */
export async function score(options: ScoreOptions): Promise<void> {
  const body = readFileSync(options.input, 'utf8');
  try {
    JSON.parse(body);
  } catch {
    throw new UsageError(`${options.input} is not JSON: a request is {"records": [{feature: value, ...}, ...]}`);
  }
  if (options.env !== undefined && options.wait !== undefined) {
    throw new UsageError('--wait applies to a local server, not to --env');
  }
  let response: Response;
  if (options.env === undefined) {
    const url = parseUrl(options.url ?? LOCAL_URL);
    if (options.wait !== undefined) await waitForHealth(url, parseSeconds(options.wait));
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(
      (error: Error & { cause?: { code?: string } }) => {
        if (error.cause?.code === 'ECONNREFUSED') {
          throw new CommandError(`nothing answers at ${url.origin}`, 'start mlp serve first, or give --url');
        }
        throw error;
      },
    );
  } else {
    response = await signedPost(options.env, options.url, body);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { statusCode: response.status, error: text.slice(0, 500) };
  }
  const out = new CommandOutput(options);
  out.result(parsed as ScoringAnswer, {
    human: (r) =>
      response.ok
        ? [
            `${r.modelVersion} (request ${r.requestId}):`,
            ...(r.predictions ?? []).map((p, i) => `  record ${i + 1}: ${Array.isArray(p) ? p.join(', ') : p}`),
          ]
        : `the scorer answered ${response.status}: ${r.error ?? text.slice(0, 200)}`,
  });
  if (!response.ok) throw new ReportedOutcome(1, `HTTP ${response.status}`);
}

/** The scorer's answer. */
interface ScoringAnswer {
  readonly modelVersion?: string;
  readonly requestId?: string;
  readonly predictions?: (number | number[])[];
  readonly error?: string;
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
    throw new UsageError(`--wait must be more than 0 and at most 600 seconds, got "${text}"`);
  }
  return seconds;
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:8080/score, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be http or https, got ${url.protocol}`);
  }
  return url;
}

/** Polls `GET /health` of the scoring URL's server until it answers 200. */
async function waitForHealth(url: URL, seconds: number): Promise<void> {
  const health = new URL('/health', url);
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const ok = await fetch(health).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) {
      throw new CommandError(`${health.origin} did not answer /health within ${seconds} s`, 'is mlp serve running?');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function signedPost(envName: string, explicitUrl: string | undefined, body: string): Promise<Response> {
  const config = loadEnvironment(envName);
  const url = new URL(explicitUrl ?? (await stackOutput(envName, 'scoringUrl', config.region)));
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
