/** The S3 sink at the wire: request shape, create-only semantics, checksums and retries, against a local S3. */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { S3Store } from '../../onprem-agent/sink/s3-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { expectCreateOnly } from '../support/object-store-contract';
import { standInClientConfig, startS3StandIn, type S3StandIn } from '../support/s3-stand-in';

const KMS_KEY = 'arn:aws:kms:eu-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
let s3: S3StandIn;
let store: S3Store;

beforeAll(async () => {
  s3 = await startS3StandIn();
  const client = new S3Client({ ...standInClientConfig(s3.endpoint), maxAttempts: 4 });
  store = new S3Store({ bucket: 'landing-bucket', region: 'eu-west-2', kmsKeyId: KMS_KEY, client });
});
afterAll(() => s3.close());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a put is create-only, SSE-KMS with the landing key, and carries its SHA-256 for S3 to verify', async () => {
  const body = Buffer.from('part bytes');
  await store.putIfAbsent('landing/loans/r1/part-00000.csv.gz', body, sha(body));
  const put = s3.requests.find((r) => r.method === 'PUT')!;
  expect(put.path).toBe('/landing-bucket/landing/loans/r1/part-00000.csv.gz');
  expect(put.headers).toMatchObject({
    'if-none-match': '*',
    'x-amz-server-side-encryption': 'aws:kms',
    'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY,
    'x-amz-checksum-sha256': createHash('sha256').update(body).digest('base64'),
    'content-type': 'application/gzip',
  });
  expect(String(put.headers.authorization)).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d+\/eu-west-2\/s3\/aws4_request/,
  );
});

test('putting the same bytes again is a no-op; different bytes are a conflict', async () => {
  await expectCreateOnly(store, 'landing/loans/r1/_manifest.json', Buffer.from('manifest'), Buffer.from('MANIFEST'));
  expect(s3.objects.get('/landing-bucket/landing/loans/r1/_manifest.json')?.toString()).toBe('manifest');
});

test('throttling is retried with backoff; a sink that keeps failing surfaces the error', async () => {
  const body = Buffer.from('retry me');
  s3.throttleNext = 2;
  const before = s3.requests.length;
  await store.putIfAbsent('landing/loans/r2/part-00000.csv.gz', body, sha(body));
  expect(s3.requests.length - before).toBe(3);
  s3.throttleNext = 10;
  await expect(store.putIfAbsent('landing/loans/r2/part-00001.csv.gz', body, sha(body))).rejects.toThrow(
    /reduce your request rate/,
  );
  s3.throttleNext = 0;
  expect(s3.objects.has('/landing-bucket/landing/loans/r2/part-00001.csv.gz')).toBe(false);
});

test('head reports the stored checksum; a missing key is undefined', async () => {
  const body = Buffer.from('head me');
  await store.putIfAbsent('landing/loans/r3/part-00000.csv.gz', body, sha(body));
  await expect(store.head('landing/loans/r3/part-00000.csv.gz')).resolves.toEqual({
    key: 'landing/loans/r3/part-00000.csv.gz',
    bytes: 7,
    sha256: sha(body),
  });
  await expect(store.head('landing/loans/none')).resolves.toBeUndefined();
});

test('a whole extract lands in S3 with its manifest last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-s3-extract-'));
  seedBank(join(dir, 'bank.db'), { customers: 3000, seed: 3 });
  const example = loadAgentConfig(resolve(__dirname, '..', '..', 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
  const config = { ...example, stateDir: join(dir, 'state') };
  const dataset = { ...config.datasets[0], quasiIdentifiers: ['birth_date'], k: 3, partRows: 300 };
  const source = new SqliteSource(join(dir, 'bank.db'));
  const before = s3.requests.length;
  const result = await runExtract(config, dataset, {
    source,
    store,
    key: Buffer.alloc(32, 1),
    now: () => new Date('2026-11-28T12:00:00Z'),
  });
  await source.close();
  const puts = s3.requests
    .slice(before)
    .filter((r) => r.method === 'PUT')
    .map((r) => r.path);
  expect(puts).toHaveLength(result.parts + 1);
  expect(puts[puts.length - 1]).toBe(`/landing-bucket/${result.manifestKey}`);
  const manifest = JSON.parse(s3.objects.get(`/landing-bucket/${result.manifestKey}`)!.toString());
  expect(manifest.parts.map((p: { key: string }) => `/landing-bucket/${p.key}`)).toEqual(puts.slice(0, -1));
});
