/** `mlp predict`, `mlp serve` and `mlp score` on fresh processes, as a user runs them. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SPEC_FORMAT } from '../../lambdas/features/feature-spec';
import { scoringRequestSchema } from '../../lambdas/scorer/request-schema';
import { loadScoringModel } from '../../lambdas/scorer/scoring-model';
import { cliEnv, errorOf, jsonLines, MLP, runMlp } from '../support/cli';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const fixtures = xgboostFixtures();
const binary = fixtures.cases.find((c) => c.name === 'binary_logistic')!;
const dir = mkdtempSync(join(tmpdir(), 'mlp-cli-'));
const home = join(dir, 'home');
const mlp = (...args: string[]) => runMlp(args, { env: { MLP_HOME: home } });

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

describe('mlp predict with headerless vectors', () => {
  test.each(['binary_logistic', 'multi_softprob', 'dart', 'reg_squarederror'])(
    '%s: --margin prints XGBoost margins exactly, and transformed predictions match XGBoost',
    (name) => {
      const fixture = fixtures.cases.find((c) => c.name === name)!;
      const input = csvOf(fixture.rows);
      const margins = mlp('predict', '--model', fixture.files.tar, '--input', input, '--margin');
      expect(margins.stderr).toBe('');
      expect(bitsOf(margins.stdout)).toEqual(fixture.margin_bits);
      const transformed = mlp('predict', '--model', fixture.files.json, '--input', input, '--json');
      const { rows, predictions } = JSON.parse(transformed.stdout) as { rows: number; predictions: number[][] };
      expect(rows).toBe(fixture.rows.length);
      predictions
        .flat()
        .forEach((v, i) =>
          expect(Math.abs(v - fixture.pred.flat()[i])).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(v))),
        );
    },
  );

  test.each(['multi_softprob', 'categorical'])(
    "%s: --contribs prints XGBoost's pred_contribs layout and values; --margin beside it is refused",
    (name) => {
      const fixture = fixtures.cases.find((c) => c.name === name)!;
      const input = csvOf(fixture.rows);
      const result = mlp('predict', '--model', fixture.files.json, '--input', input, '--contribs');
      expect(result.stderr).toBe('');
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(',').map(Number));
      expect(lines).toHaveLength(fixture.rows.length);
      lines.forEach((values, r) => {
        expect(values).toHaveLength(fixture.contribs[r].length);
        values.forEach((v, i) => expect(Math.abs(v - fixture.contribs[r][i])).toBeLessThan(1e-5));
      });
      const both = mlp('predict', '--model', fixture.files.json, '--input', input, '--contribs', '--margin');
      expect(both.status).toBe(2);
      expect(errorOf(both).message).toContain('give --margin or --contribs, not both');
    },
  );

  test('--output writes the file only once every row scored, and prints a summary', () => {
    const input = csvOf(binary.rows);
    const output = join(dir, 'scores.csv');
    const done = mlp('predict', '--model', binary.files.bin, '--input', input, '--output', output);
    expect(done.status).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ rows: binary.rows.length, output });
    expect(readFileSync(output, 'utf8').trim().split('\n')).toHaveLength(binary.rows.length);

    const bad = join(dir, 'bad-late.csv');
    writeFileSync(bad, `${readFileSync(input, 'utf8')}1,2\n`);
    const failed = mlp('predict', '--model', binary.files.bin, '--input', bad, '--output', join(dir, 'never.csv'));
    expect(failed.status).toBe(2);
    expect(readdirSync(dir).filter((f) => f.startsWith('never.csv'))).toEqual([]);
  });

  test('a row of the wrong width or a non-number names the line, not the value', () => {
    const input = join(dir, 'bad.csv');
    writeFileSync(input, `${Array(12).fill('1').join(',')}\n1,2\n`);
    const short = mlp('predict', '--model', binary.files.bin, '--input', input);
    expect(short.status).toBe(2);
    expect(errorOf(short).message).toBe(`mlp: ${input} line 2: 2 fields, the model expects 12`);
    writeFileSync(input, `${Array(11).fill('1').join(',')},SECRET42\n`);
    const word = mlp('predict', '--model', binary.files.bin, '--input', input);
    expect(errorOf(word).message).toBe(`mlp: ${input} line 1 column 12: not a finite float32 number`);
    expect(word.stderr).not.toContain('SECRET42');
  });

  test('a corrupt model file is refused with the reason; a missing file is named', () => {
    const bad = join(dir, 'model.bin');
    writeFileSync(bad, 'binf\u0000\u0001');
    const corrupt = mlp('predict', '--model', bad, '--input', bad);
    expect(corrupt.status).toBe(2);
    expect(errorOf(corrupt).message).toMatch(/^mlp: truncated model: learner parameters needs 136 bytes/);
    const missing = mlp('predict', '--model', join(dir, 'nope.tar.gz'), '--input', bad);
    expect(missing.status).toBe(2);
    expect(errorOf(missing).message).toBe(`mlp: ${join(dir, 'nope.tar.gz')}: no such file or directory`);
  });
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`);

describe('mlp predict --spec with named columns', () => {
  // Ten numeric features and one categorical one-hot feature of two categories: the model's twelve columns.
  const spec = {
    format: FEATURE_SPEC_FORMAT,
    features: [
      ...Array.from({ length: 10 }, (_, i) => ({ name: `x${i}`, type: 'numeric' })),
      { name: 'segment', type: 'categorical', encoding: 'one-hot', categories: ['retail', 'sme'] },
    ],
  };
  const specPath = join(dir, 'feature-spec.json');
  writeFileSync(specPath, JSON.stringify(spec));
  const segments = ['retail', 'sme', 'unknown', ''];
  const records: Record<string, number | string | null>[] = binary.rows.slice(0, 40).map((row, r) => ({
    ...Object.fromEntries(row.slice(0, 10).map((v, i) => [`x${i}`, v])),
    segment: segments[r % 4] || null,
  }));

  test('each row scores as the scorer scores the same record; other columns are ignored and listed', async () => {
    const input = join(dir, 'named.csv');
    const header = ['loan_id', 'segment', ...Array.from({ length: 10 }, (_, i) => `x${9 - i}`)];
    const lines = records.map((rec, r) =>
      [`L${r}`, rec.segment ?? '', ...Array.from({ length: 10 }, (_, i) => rec[`x${9 - i}`] ?? '')].join(','),
    );
    writeFileSync(input, `${header.join(',')}\n${lines.join('\n')}\n`);
    const result = mlp('predict', '--model', binary.files.tar, '--spec', specPath, '--input', input);
    expect(result.status).toBe(0);
    const [head, ...values] = result.stdout.trim().split('\n');
    expect(head).toBe('prediction');
    const scorer = await loadScoringModel({ modelUri: binary.files.tar, featureSpecUri: specPath });
    expect(values.map(Number)).toEqual(scorer.score(records));
    expect(jsonLines(result.stderr)).toEqual([
      expect.objectContaining({ message: `${input}: ignoring columns the feature spec does not name: loan_id` }),
    ]);
    // Contributions are headed by the model's columns (a one-hot column as feature=category), then the bias.
    const explained = mlp('predict', '--model', binary.files.tar, '--spec', specPath, '--input', input, '--contribs');
    const [columns, ...rows] = explained.stdout.trim().split('\n');
    expect(columns).toBe([...names(10), 'segment=retail', 'segment=sme', 'bias'].join(','));
    const sums = rows.map((row) =>
      row
        .split(',')
        .map(Number)
        .reduce((a, b) => a + b, 0),
    );
    const margins = mlp('predict', '--model', binary.files.tar, '--spec', specPath, '--input', input, '--margin');
    margins.stdout
      .trim()
      .split('\n')
      .slice(1)
      .forEach((m, r) => expect(Math.abs(sums[r] - Number(m))).toBeLessThan(1e-4));
  });

  test('a header without a feature, a bad number, bad CSV, an empty file and a bad spec are named', () => {
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const names = Array.from({ length: 10 }, (_, i) => `x${i}`);
    const run = (input: string, specFile = specPath) =>
      mlp('predict', '--model', binary.files.tar, '--spec', specFile, '--input', input);

    const lacking = run(file('lacking.csv', `${names.join(',')}\n${Array(10).fill('1').join(',')}\n`));
    expect(lacking.status).toBe(2);
    expect(errorOf(lacking).message).toContain('the header lacks 1 feature(s) of the spec: segment');
    expect(lacking.stdout).toBe(''); // not even the output's header

    // A missing input is named before anything is written; --output leaves no file, finished or not.
    const output = join(dir, 'named-out.csv');
    for (const input of [join(dir, 'no-such.csv'), join(dir, 'lacking.csv')]) {
      const failed = mlp(
        'predict',
        '--model',
        binary.files.tar,
        '--spec',
        specPath,
        '--input',
        input,
        '--output',
        output,
      );
      expect(failed.status).toBe(2);
      expect(readdirSync(dir).filter((f) => f.startsWith('named-out.csv'))).toEqual([]);
    }
    expect(
      errorOf(mlp('predict', '--model', binary.files.tar, '--spec', specPath, '--input', join(dir, 'no-such.csv')))
        .message,
    ).toBe(`mlp: ${join(dir, 'no-such.csv')}: no such file or directory`);

    const word = file(
      'word.csv',
      `${names.join(',')},segment\n${Array(10).fill('1').join(',')},sme\n1,SECRET,1,1,1,1,1,1,1,1,sme\n`,
    );
    const notNumber = run(word);
    expect(errorOf(notNumber).message).toBe(`mlp: ${word} line 3 column x1: not a number`);
    expect(notNumber.stderr).not.toContain('SECRET');

    const ragged = file('ragged.csv', `${names.join(',')},segment\n1,2\n`);
    expect(errorOf(run(ragged)).message).toMatch(new RegExp(`^mlp: ${ragged} line 2: not valid CSV \\(CSV_`));

    const empty = file('empty.csv', '');
    expect(errorOf(run(empty)).message).toContain('is empty: it needs a header naming the features');

    const badSpec = file('bad-spec.json', JSON.stringify({ ...spec, format: 'other' }));
    const refused = run(ragged, badSpec);
    expect(refused.status).toBe(2);
    expect(errorOf(refused).message).toContain(`${badSpec}: `);
  });
});

/** Starts `mlp serve ARGS` and resolves once it listens, with its base URL. */
async function startServe(args: string[]): Promise<{ server: ChildProcessWithoutNullStreams; base: string }> {
  const server = spawn(process.execPath, [MLP, 'serve', ...args], { env: cliEnv({ MLP_HOME: home }) });
  const base = await new Promise<string>((resolveUrl, reject) => {
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr);
      if (match) resolveUrl(match[1]);
    });
    server.on('exit', (code) => reject(new Error(`mlp serve exited ${code}: ${stderr}`)));
  });
  return { server, base };
}

/** A port nothing listens on. */
const freePort = () =>
  new Promise<number>((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => done(port));
    });
  });

const exited = (server: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((done) => server.once('exit', (code) => done(code)));

describe('mlp serve and mlp score', () => {
  let server: ChildProcessWithoutNullStreams;
  let base: string;
  let stdout = '';
  const specPath = join(dir, 'numeric-spec.json');
  writeFileSync(
    specPath,
    JSON.stringify({
      format: FEATURE_SPEC_FORMAT,
      features: Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, type: 'numeric' })),
    }),
  );
  beforeAll(async () => {
    ({ server, base } = await startServe([
      '--model',
      binary.files.tar,
      '--spec',
      specPath,
      '--port',
      '0',
      '--model-version',
      'cli-1',
    ]));
    server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  });
  afterAll(() => {
    server.kill('SIGKILL');
  });

  test('POST /score answers with the handler; health, version and the API description beside it', async () => {
    const response = await fetch(`${base}/score`, {
      method: 'POST',
      body: JSON.stringify({ records: [{ f0: 1 }, { f1: null }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-model-version')).toBe('cli-1');
    expect(((await response.json()) as { predictions: number[] }).predictions).toHaveLength(2);
    expect((await fetch(`${base}/score`, { method: 'POST', body: 'x'.repeat(300 * 1024) })).status).toBe(413);

    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok', modelVersion: 'cli-1' });
    const version = (await (await fetch(`${base}/version`)).json()) as Record<string, unknown>;
    expect(version).toMatchObject({
      modelVersion: 'cli-1',
      featureSpecSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      codeVersion: expect.stringMatching(/^hybrid-ml-platform@\d+\.\d+\.\d+/),
    });
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      components: { schemas: Record<string, unknown> };
    };
    expect(openapi.openapi).toBe('3.1.0');
    const features = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, type: 'numeric' as const }));
    expect(openapi.components.schemas.ScoringRequest).toEqual(scoringRequestSchema(features));
    // Nothing of the handler's logs or metrics reaches the terminal: they are in $MLP_HOME/logs/.
    expect(stdout).toBe('');
    expect(readFileSync(join(home, 'logs', 'scorer.log'), 'utf8')).toContain('"CloudWatchMetrics"');
  });

  test('another path is 404, another method 405 with Allow', async () => {
    const missing = await fetch(`${base}/predict`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain('POST /score');
    const wrong = await fetch(`${base}/score`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await fetch(`${base}/health`, { method: 'DELETE' })).status).toBe(405);
  });

  test('clients that go away mid-request never take the server down', async () => {
    const host = new URL(base);
    for (const partial of [
      `POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"records":[`,
      'POST /score HTTP/1.1\r\nHost: x\r\nContent-Le',
      `POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"records": [{"f`,
    ]) {
      await new Promise<void>((done) => {
        const socket = connect(Number(host.port), host.hostname, () => {
          socket.write(partial, () => setTimeout(() => (socket.resetAndDestroy(), done()), 50));
        });
      });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(server.exitCode).toBeNull();
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  test('mlp score prints the response; a refused request exits 1; no server is named with a hint', async () => {
    const input = join(dir, 'request.json');
    writeFileSync(input, JSON.stringify({ record: { f0: 0.25 } }));
    const result = mlp('score', '--url', `${base}/score`, '--input', input, '--wait', '5');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ modelVersion: 'cli-1', predictions: [expect.any(Number)] });
    const bad = join(dir, 'bad-request.json');
    writeFileSync(bad, JSON.stringify({ record: { nope: 1 } }));
    const rejected = mlp('score', '--url', `${base}/score`, '--input', bad);
    expect(rejected.status).toBe(1);
    expect(JSON.parse(rejected.stdout).statusCode).toBe(400);

    const closed = await freePort();
    const nobody = mlp('score', '--url', `http://127.0.0.1:${closed}/score`, '--input', input);
    expect(nobody.status).toBe(1);
    expect(errorOf(nobody)).toMatchObject({
      message: `mlp: nothing answers at http://127.0.0.1:${closed}`,
      hint: 'start mlp serve first, or give --url',
    });
    const badUrl = mlp('score', '--url', 'localhost:8080', '--input', input);
    expect(badUrl.status).toBe(2);
    expect(errorOf(badUrl).message).toContain('--url must be');
    expect(errorOf(mlp('score', '--input', input, '--wait', '0')).message).toContain('more than 0 and at most 600');
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{"records": [');
    expect(errorOf(mlp('score', '--input', notJson)).message).toContain('is not JSON');
    expect(errorOf(mlp('score', '--input', join(dir, 'none.json'))).message).toBe(
      `mlp: ${join(dir, 'none.json')}: no such file or directory`,
    );
  });
});

test('SIGTERM lets an in-flight request finish, then mlp serve exits 0', async () => {
  const { server, base } = await startServe(['--model', binary.files.json, '--port', '0']);
  const host = new URL(base);
  const body = JSON.stringify({ record: { f0: 0.5 } });
  const answer = new Promise<string>((done) => {
    const socket = connect(Number(host.port), host.hostname, () => {
      socket.write(`POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
      setTimeout(() => {
        server.kill('SIGTERM');
        setTimeout(() => socket.write(body.slice(5)), 300);
      }, 100);
    });
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => done(text));
  });
  const response = await answer;
  expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
  expect(response).toContain('"predictions":[');
  expect(await exited(server)).toBe(0);
});

test('mlp serve without a model names what to do; a port in use is named', async () => {
  const empty = join(dir, 'empty-home');
  const noAlias = runMlp(['serve', '--port', '0'], { env: { MLP_HOME: empty } });
  expect(noAlias.status).toBe(2);
  expect(errorOf(noAlias)).toMatchObject({
    message: expect.stringContaining(`no model is deployed under ${join(empty, 'serving', 'dev')} yet`),
    hint: 'run mlp retrain (or mlp demo) first, or give --model PATH',
  });
  expect(existsSync(empty)).toBe(false);
  const { server, base } = await startServe(['--model', binary.files.json, '--port', '0']);
  const busy = mlp('serve', '--model', binary.files.json, '--port', new URL(base).port);
  expect(busy.status).toBe(2);
  expect(errorOf(busy).message).toBe(`mlp: port ${new URL(base).port} is in use`);
  server.kill('SIGTERM');
  expect(await exited(server)).toBe(0);
});
