/** `mlp predict` and `mlp serve` on a fresh process, as a user runs them. */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const root = resolve(__dirname, '..', '..');
const mlp = join(root, 'bin', 'mlp.js');
const fixtures = xgboostFixtures();
const dir = mkdtempSync(join(tmpdir(), 'mlp-cli-'));

function csvOf(rows: ReadonlyArray<ReadonlyArray<number | null>>): string {
  const path = join(dir, `rows-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(
    path,
    rows
      .map((row) => row.map((v) => (v === null ? (Math.random() < 0.5 ? '' : 'NaN') : String(v))).join(','))
      .join('\n') + '\n',
  );
  return path;
}

const bitsOf = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => line.split(',').map((v) => new Uint32Array(Float32Array.of(Number(v)).buffer)[0]));

describe('mlp predict', () => {
  test.each(['binary_logistic', 'multi_softprob', 'dart', 'reg_squarederror'])(
    '%s: --margin prints XGBoost margins exactly',
    (name) => {
      const fixture = fixtures.cases.find((c) => c.name === name)!;
      const input = csvOf(fixture.rows);
      const result = spawnSync(
        process.execPath,
        [mlp, 'predict', '--model', fixture.files.tar, '--input', input, '--margin'],
        { encoding: 'utf8' },
      );
      expect(result.stderr).toBe('');
      expect(bitsOf(result.stdout)).toEqual(fixture.margin_bits);
      const transformed = spawnSync(
        process.execPath,
        [mlp, 'predict', '--model', fixture.files.json, '--input', input],
        { encoding: 'utf8' },
      );
      const values = transformed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(',').map(Number));
      values
        .flat()
        .forEach((v, i) =>
          expect(Math.abs(v - fixture.pred.flat()[i])).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(v))),
        );
    },
  );

  test('a row of the wrong width or a non-number names the line, not the value', () => {
    const fixture = fixtures.cases.find((c) => c.name === 'binary_logistic')!;
    const input = join(dir, 'bad.csv');
    writeFileSync(input, `${Array(12).fill('1').join(',')}\n1,2\n`);
    const short = spawnSync(process.execPath, [mlp, 'predict', '--model', fixture.files.bin, '--input', input], {
      encoding: 'utf8',
    });
    expect(short.status).toBe(2);
    expect(short.stderr.trim()).toBe(`mlp: ${input} line 2: 2 fields, the model expects 12`);
    writeFileSync(input, `${Array(11).fill('1').join(',')},SECRET42\n`);
    const word = spawnSync(process.execPath, [mlp, 'predict', '--model', fixture.files.bin, '--input', input], {
      encoding: 'utf8',
    });
    expect(word.stderr.trim()).toBe(`mlp: ${input} line 1 column 12: not a finite float32 number`);
  });

  test('a corrupt model file is refused with the reason', () => {
    const bad = join(dir, 'model.bin');
    writeFileSync(bad, 'binf\u0000\u0001');
    const result = spawnSync(process.execPath, [mlp, 'predict', '--model', bad, '--input', bad], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^mlp: truncated model: learner parameters needs 136 bytes/);
  });
});

describe('mlp serve and mlp score --local', () => {
  let server: ChildProcessWithoutNullStreams;
  let url: string;
  beforeAll(async () => {
    const fixture = fixtures.cases.find((c) => c.name === 'binary_logistic')!;
    server = spawn(process.execPath, [
      mlp,
      'serve',
      '--model',
      fixture.files.tar,
      '--port',
      '0',
      '--model-version',
      'cli-1',
    ]);
    url = await new Promise<string>((resolveUrl, reject) => {
      let stderr = '';
      server.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /at (http:\/\/127\.0\.0\.1:\d+\/score)/.exec(stderr);
        if (match) resolveUrl(match[1]);
      });
      server.on('exit', (code) => reject(new Error(`mlp serve exited ${code}: ${stderr}`)));
    });
  });
  afterAll(() => {
    server.kill('SIGTERM');
  });

  test('answers scoring requests with the handler, on loopback only', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/score$/);
    const response = await fetch(url, { method: 'POST', body: JSON.stringify({ records: [{ f0: 1 }, { f1: null }] }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-model-version')).toBe('cli-1');
    const body = (await response.json()) as { predictions: number[] };
    expect(body.predictions).toHaveLength(2);
    const big = await fetch(url, { method: 'POST', body: 'x'.repeat(300 * 1024) });
    expect(big.status).toBe(413);
  });

  test('mlp score --local prints the response', () => {
    const input = join(dir, 'request.json');
    writeFileSync(input, JSON.stringify({ record: { f0: 0.25 } }));
    const result = spawnSync(process.execPath, [mlp, 'score', '--local', '--url', url, '--input', input], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ modelVersion: 'cli-1', predictions: [expect.any(Number)] });
    const bad = join(dir, 'bad-request.json');
    writeFileSync(bad, JSON.stringify({ record: { nope: 1 } }));
    const rejected = spawnSync(process.execPath, [mlp, 'score', '--local', '--url', url, '--input', bad], {
      encoding: 'utf8',
    });
    expect(rejected.status).toBe(1);
    expect(JSON.parse(rejected.stdout).statusCode).toBe(400);
  });
});
