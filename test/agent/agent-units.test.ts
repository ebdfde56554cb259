/* eslint-disable @typescript-eslint/no-explicit-any -- the mutators below poke at arbitrary config shapes */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileTransform } from '../../onprem-agent/anonymise/column-transform';
import {
  AgentConfigError,
  loadAgentConfig,
  parseAgentConfig,
  readSecret,
} from '../../onprem-agent/config/agent-config';
import { csvLine } from '../../onprem-agent/extract/csv';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { expectCreateOnly } from '../support/object-store-contract';

const key = Buffer.alloc(32, 7);
const ctx = (column: string, dataset = 'loans') => ({ dataset, column, key, asOf: '2026-10-31' });

describe('column transforms', () => {
  test('HMAC pseudonyms: NFC and NFD spellings agree, NULL stays NULL, columns and datasets are separated', () => {
    const hmac = compileTransform({ policy: 'hmac' }, ctx('full_name'));
    const nfc = 'Zoë Siobhán';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(hmac(nfc)).toBe(hmac(nfd));
    expect(hmac(nfc)).toMatch(/^[0-9a-f]{64}$/);
    expect(hmac(null)).toBeNull();
    expect(hmac('😀 emoji')).toMatch(/^[0-9a-f]{64}$/);
    expect(compileTransform({ policy: 'hmac' }, ctx('email'))(nfc)).not.toBe(hmac(nfc));
    expect(compileTransform({ policy: 'hmac' }, ctx('full_name', 'cards'))(nfc)).not.toBe(hmac(nfc));
    expect(hmac(nfc)).not.toBe(createHash('sha256').update(nfc).digest('hex'));
    expect(compileTransform({ policy: 'hmac' }, { ...ctx('full_name'), key: Buffer.alloc(32, 8) })(nfc)).not.toBe(
      hmac(nfc),
    );
  });

  test('a declared linkage domain gives one pseudonym per value across datasets and columns, and only there', () => {
    const linked = (column: string, dataset: string, linkAs = 'loan') =>
      compileTransform({ policy: 'hmac', linkAs }, ctx(column, dataset));
    expect(linked('loan_id', 'loan_outcomes')('1042')).toBe(linked('loan_id', 'loans')('1042'));
    expect(linked('id', 'arrears')('1042')).toBe(linked('loan_id', 'loans')('1042'));
    expect(linked('loan_id', 'loans')('1043')).not.toBe(linked('loan_id', 'loans')('1042'));
    // Another domain, an undeclared column, or another key: unrelated.
    expect(linked('loan_id', 'loans', 'customer')('1042')).not.toBe(linked('loan_id', 'loans')('1042'));
    expect(compileTransform({ policy: 'hmac' }, ctx('loan_id'))('1042')).not.toBe(linked('loan_id', 'loans')('1042'));
    // A dataset named like the domain cannot reproduce it.
    expect(compileTransform({ policy: 'hmac' }, ctx('loan', 'link'))('1042')).not.toBe(
      linked('loan_id', 'loans')('1042'),
    );
  });

  test('generalisations: buckets, age bands, postcode prefixes and months', () => {
    const buckets = compileTransform({ policy: 'generalise', method: 'buckets', edges: [20000, 50000] }, ctx('income'));
    expect([buckets(1000), buckets(20000), buckets(49999.99), buckets(50000), buckets(null), buckets('x')]).toEqual([
      '<20000',
      '20000-50000',
      '20000-50000',
      '>=50000',
      null,
      null,
    ]);
    const age = compileTransform({ policy: 'generalise', method: 'age-band', width: 10 }, ctx('birth_date'));
    expect([age('1990-11-01'), age('1990-10-31'), age('2030-01-01'), age('garbage')]).toEqual([
      '30-39',
      '30-39',
      null,
      null,
    ]);
    expect(age('1996-11-01')).toBe('20-29');
    const postcode = compileTransform({ policy: 'generalise', method: 'postcode-prefix' }, ctx('postcode'));
    expect([postcode('SW1A 1AA'), postcode('m14 5gr'), postcode('LS11AB'), postcode('AB')]).toEqual([
      'SW1A',
      'M14',
      'LS1',
      null,
    ]);
    const month = compileTransform({ policy: 'generalise', method: 'month' }, ctx('opened'));
    expect([month('2025-05-13'), month('2025-05-13T10:00:00Z'), month(null)]).toEqual(['2025-05', '2025-05', null]);
  });

  test('a pseudonym key gives the same pseudonyms from a file (with its trailing line break) as from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-key-'));
    const text = 'k3y-material-of-at-least-32-bytes-long';
    process.env.MLP_TEST_KEY = text;
    try {
      const fromEnv = readSecret({ env: 'MLP_TEST_KEY' }, 'pseudonymisation key');
      for (const [name, body] of [
        ['plain', text],
        ['lf', `${text}\n`],
        ['crlf', `${text}\r\n`],
      ]) {
        writeFileSync(join(dir, name), body);
        const fromFile = readSecret({ file: join(dir, name) }, 'pseudonymisation key');
        const pseudonym = (k: Buffer) => compileTransform({ policy: 'hmac' }, { ...ctx('full_name'), key: k })('Ann');
        expect({ name, same: pseudonym(fromFile) === pseudonym(fromEnv) }).toEqual({ name, same: true });
      }
      writeFileSync(join(dir, 'blank'), '\n');
      expect(() => readSecret({ file: join(dir, 'blank') }, 'pseudonymisation key')).toThrow(/is empty/);
    } finally {
      delete process.env.MLP_TEST_KEY;
    }
  });

  test('CSV fields are quoted when needed; null is empty and "" is quoted', () => {
    expect(csvLine(['a', null, '', 'x,y', 'say "hi"', 'line\nbreak'])).toBe('a,,"","x,y","say ""hi""","line\nbreak"');
  });
});

describe('filesystem store', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlp-store-'));
  const store = new FilesystemStore(root);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  test('puts are create-only: the same bytes again succeed, different bytes are refused', async () => {
    await expectCreateOnly(store, 'landing/x/part-00000.csv.gz', Buffer.from('hello'), Buffer.from('HELLO'));
    expect(readdirSync(join(root, 'landing', 'x'))).toEqual(['part-00000.csv.gz']);
  });

  test('a body that does not match its checksum, and unsafe keys, are refused', async () => {
    await expect(store.putIfAbsent('landing/y', Buffer.from('a'), sha(Buffer.from('b')))).rejects.toThrow(
      'does not match its declared SHA-256',
    );
    await expect(store.putIfAbsent('../escape', Buffer.from('a'), sha(Buffer.from('a')))).rejects.toThrow(
      'unsafe object key',
    );
    await expect(store.putIfAbsent('landing/../../escape', Buffer.from('a'), sha(Buffer.from('a')))).rejects.toThrow(
      'unsafe object key',
    );
  });
});

describe('agent config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-agent-config-'));
  const base = {
    source: { type: 'sqlite', path: 'bank.db' },
    sink: { type: 'filesystem', root: 'store' },
    pseudonymisation: { kid: 'k1', key: { env: 'MLP_KEY' } },
    stateDir: 'state',
    datasets: [
      {
        name: 'loans',
        table: 'loan_features',
        primaryKey: 'loan_id',
        watermark: { column: 'updated_at', lagSeconds: 0 },
        columns: { loan_id: { policy: 'hmac' }, updated_at: { policy: 'keep' } },
      },
    ],
  };

  test('resolves paths against the config file and fills defaults', () => {
    const path = join(dir, 'agent.json');
    writeFileSync(path, JSON.stringify(base));
    const config = loadAgentConfig(path);
    expect(config.source).toEqual({ type: 'sqlite', path: join(dir, 'bank.db') });
    expect(config.datasets[0]).toMatchObject({ k: 5, partRows: 250000, quasiIdentifiers: [] });
  });

  test.each([
    [(c: any) => (c.datasets[0].columns.loan_id = { policy: 'encrypt' }), 'datasets.0.columns.loan_id'],
    [
      (c: any) => (c.datasets[0].columns.loan_id = { policy: 'hmac', linkAs: 'Loan ID' }),
      'datasets.0.columns.loan_id.linkAs: must be lower-case letters',
    ],
    [
      (c: any) => (c.datasets[0].columns.customer_id = { policy: 'hmac', linkAs: 'customer' }),
      'datasets.0.columns.customer_id.linkAs: only the primary key (loan_id) may link datasets',
    ],
    [
      (c: any) => (c.datasets[0].primaryKey = 'loan_id; DROP TABLE x'),
      'datasets.0.primaryKey: must be a plain SQL identifier',
    ],
    [(c: any) => (c.datasets[0].table = 'a.b.c'), 'datasets.0.table'],
    [
      (c: any) => (c.datasets[0].quasiIdentifiers = ['birth_date']),
      'datasets.0.quasiIdentifiers.0: "birth_date" has no column policy',
    ],
    [(c: any) => (c.datasets[0].columns.loan_id = { policy: 'drop' }), 'the primary key cannot be dropped'],
    [(c: any) => (c.datasets[0].columns.x = { policy: 'generalise', method: 'buckets' }), 'buckets need edges'],
    [
      (c: any) => (c.source = { type: 'oracle', connectString: 'db:1521/x', user: 'u', password: 'hunter2' }),
      'source.password',
    ],
    [(c: any) => (c.pseudonymisation.key = { env: 'A', file: 'b' }), 'give exactly one of env or file'],
  ])('rejects a bad config naming the field (%#)', (mutate, expected) => {
    const config = structuredClone(base);
    mutate(config);
    expect(() => parseAgentConfig(config, 'agent.yaml')).toThrow(AgentConfigError);
    expect(() => parseAgentConfig(config, 'agent.yaml')).toThrow(expected);
  });

  test('a config whose YAML does not parse names the file', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'source: [unclosed');
    expect(() => loadAgentConfig(path)).toThrow(`${path} is not valid YAML`);
  });
});
