/**
 * The extract end to end on the embedded source and the filesystem store: anonymisation leaves no raw
 * identifier in any byte written, runs are incremental without gaps or duplicates, a run killed between
 * parts resumes without re-sending them, and refusals (fail closed, k-anonymity, data tests, NULL
 * watermarks) write nothing.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import {
  type AgentConfig,
  type DatasetConfig,
  loadAgentConfig,
  parseAgentConfig,
} from '../../onprem-agent/config/agent-config';
import { namesDirectIdentifier } from '../../onprem-agent/anonymise/direct-identifiers';
import { ExtractAbort } from '../../onprem-agent/extract/extract-abort';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import type { ObjectStore } from '../../onprem-agent/sink/object-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';

const example = loadAgentConfig(resolve(__dirname, '..', '..', 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
const key = Buffer.from('0123456789abcdef0123456789abcdef-test-key');
const NOW = new Date('2026-11-28T12:00:00Z');

/** A fresh bank, store and state directory, with the example config pointed at them. */
function workspace(customers = 3000) {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-extract-'));
  const db = join(dir, 'bank.db');
  seedBank(db, { customers, seed: 7 });
  const config: AgentConfig = {
    ...example,
    source: { type: 'sqlite', path: db },
    sink: { type: 'filesystem', root: join(dir, 'store') },
    stateDir: join(dir, 'state'),
    // Small test banks are sparse: coarser quasi-identifiers keep the k-anonymity gate satisfiable.
    datasets: example.datasets.map((d) => ({
      ...d,
      partRows: 400,
      quasiIdentifiers: ['birth_date', 'region'],
      k: 3,
      maxSuppressedFraction: 0.1,
    })),
  };
  const store = new FilesystemStore(join(dir, 'store'));
  return { dir, db, config, store, dataset: config.datasets[0] };
}

/** The CREATE statement of a table or view of the bank. */
function definitionOf(db: Database.Database, name: string): string {
  return (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string }).sql;
}

/** Recreates the bank's loan_features view as `edit` rewrites its CREATE statement. */
function rewriteFeatureView(db: Database.Database, edit: (sql: string) => string): void {
  const view = definitionOf(db, 'loan_features');
  db.exec('DROP VIEW loan_features');
  db.exec(edit(view));
}

async function extract(config: AgentConfig, dataset: DatasetConfig, store: ObjectStore, now = NOW) {
  const source = new SqliteSource(config.source.type === 'sqlite' ? config.source.path : '');
  try {
    return await runExtract(config, dataset, { source, store, key, now: () => now });
  } finally {
    await source.close();
  }
}

async function readRun(store: FilesystemStore, manifestKey: string) {
  const manifest = JSON.parse(Buffer.from(await store.get(manifestKey)).toString());
  const rows: string[][] = [];
  let header: string[] = [];
  for (const part of manifest.parts) {
    const body = Buffer.from(await store.get(part.key));
    expect(createHash('sha256').update(body).digest('hex')).toBe(part.sha256);
    const lines = gunzipSync(body).toString('utf8').trimEnd().split('\n');
    header = lines[0].split(',');
    expect(lines.length - 1).toBe(part.rows);
    rows.push(...lines.slice(1).map((l) => l.split(',')));
  }
  return { manifest, header, rows };
}

describe('extract', () => {
  test('writes parts and a manifest in which no raw identifier, nor its SHA-256, appears', async () => {
    const { db, config, store, dataset } = workspace();
    const result = await extract(config, dataset, store);
    expect(result.parts).toBeGreaterThan(1);
    const { manifest, header, rows } = await readRun(store, result.manifestKey!);
    expect(manifest).toMatchObject({
      dataset: 'loans',
      kid: 'example-2026-11',
      k: 3,
      totalRows: rows.length,
      agentVersion: expect.any(String),
    });
    expect(header).not.toEqual(expect.arrayContaining(['full_name', 'national_id', 'email', 'phone']));
    const source = new Database(db, { readonly: true });
    const total = (source.prepare('SELECT COUNT(*) n FROM loan_features').get() as { n: number }).n;
    expect(rows.length + manifest.suppressedRows).toBe(total);

    const identifiers = new Set<string>();
    for (const row of source
      .prepare('SELECT full_name, national_id, email, phone, birth_date, postcode FROM customers')
      .raw()
      .iterate()) {
      for (const value of row as string[]) identifiers.add(value);
    }
    source.close();
    const written = [Buffer.from(await store.get(result.manifestKey!)).toString('utf8')];
    for (const part of manifest.parts)
      written.push(gunzipSync(Buffer.from(await store.get(part.key))).toString('utf8'));
    const everything = written.join('\n');
    let checked = 0;
    for (const id of identifiers) {
      const forms = [id, id.normalize('NFD'), createHash('sha256').update(id).digest('hex')];
      for (const form of forms) {
        if (everything.includes(form))
          throw new Error(`a raw identifier (${form.length} chars) leaked into the output`);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(10_000);
    expect(existsSync(join(config.stateDir, dataset.name, 'spool.bin'))).toBe(false); // the local spool is gone
    // The watermark position leaves the bank with the loan's pseudonym; the raw key stays in the local journal.
    const committed = JSON.parse(readFileSync(join(config.stateDir, dataset.name, 'watermark.json'), 'utf8'));
    expect(typeof committed.key).toBe('number');
    expect(manifest.watermark.to).toEqual({ value: committed.value, key: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  test("parts are gzip streams of several members that Python's gzip reads to the same text", async () => {
    const { dir, config, store, dataset } = workspace(2000);
    const result = await extract(config, dataset, store);
    const { manifest } = await readRun(store, result.manifestKey!);
    expect(manifest.suppressedRows).toBeGreaterThan(0);
    for (const part of manifest.parts) {
      const body = Buffer.from(await store.get(part.key));
      const file = join(dir, 'part.csv.gz');
      writeFileSync(file, body);
      const python = execFileSync(
        '/usr/bin/python3',
        ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())', file],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      expect(python.equals(gunzipSync(body))).toBe(true);
      expect(part.rows).toBeLessThanOrEqual(dataset.partRows);
    }
  });

  test('later runs extract exactly the rows changed since: ties on the watermark included, the lag window respected', async () => {
    const { db, config, store } = workspace(2000);
    // Keyset semantics in isolation: a few-row increment cannot meet any k-anonymity gate.
    const dataset = { ...config.datasets[0], quasiIdentifiers: [] };
    const first = await extract(config, dataset, store);
    const writable = new Database(db);
    const high = writable.prepare('SELECT MAX(updated_at) m, MAX(loan_id) id FROM loans').get() as {
      m: string;
      id: number;
    };
    writable.prepare("UPDATE loans SET updated_at = '2026-11-20T08:00:00Z' WHERE loan_id IN (1, 2, 3)").run();
    // A new row whose watermark ties with the previous high-water mark (higher key): it must not be lost.
    writable
      .prepare(
        'INSERT INTO loans SELECT ?, customer_id, amount, term_months, interest_rate, purpose, originated_on, missed_payments_6m, defaulted_12m, ? FROM loans WHERE loan_id = 5',
      )
      .run(high.id + 1, high.m);
    // A change inside the lag window (10 minutes ago): left for a later run.
    writable.prepare("UPDATE loans SET updated_at = '2026-11-28T11:50:00Z' WHERE loan_id = 6").run();
    writable.close();

    const second = await extract(config, dataset, store);
    const { rows, manifest } = await readRun(store, second.manifestKey!);
    expect(second.rows).toBe(4);
    expect(new Set(rows.map((r) => r[0])).size).toBe(4);
    expect(manifest.watermark.from).toEqual((await readRun(store, first.manifestKey!)).manifest.watermark.to);

    const third = await extract(config, dataset, store, new Date(NOW.getTime() + 2 * 3_600_000));
    expect(third.rows).toBe(1);
    const fourth = await extract(config, dataset, store, new Date(NOW.getTime() + 3 * 3_600_000));
    expect(fourth).toMatchObject({ rows: 0, manifestKey: null });
  });

  test('a manifest stored but not acknowledged is closed on the next run from the raw position it ended at', async () => {
    const { db, config, store } = workspace(2000);
    const dataset = { ...config.datasets[0], quasiIdentifiers: [] };
    let lose = true;
    const lossy: ObjectStore = {
      head: (k) => store.head(k),
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      putIfAbsent: async (k, body, sha) => {
        const stored = await store.putIfAbsent(k, body, sha);
        if (k.endsWith('_manifest.json') && lose) {
          lose = false;
          throw new Error('connection reset'); // the PUT landed; its reply did not
        }
        return stored;
      },
    };
    await expect(extract(config, dataset, lossy)).rejects.toThrow('connection reset');
    const closed = await extract(config, dataset, lossy);
    expect(closed.resumed).toBe(true);
    // The next increment: two changed loans and a new one tying with the old high-water mark (a higher key),
    // which only a raw key in the committed position finds.
    const writable = new Database(db);
    const high = writable.prepare('SELECT MAX(updated_at) m, MAX(loan_id) id FROM loans').get() as {
      m: string;
      id: number;
    };
    writable.prepare("UPDATE loans SET updated_at = '2026-11-20T08:00:00Z' WHERE loan_id IN (1, 2)").run();
    writable
      .prepare(
        'INSERT INTO loans SELECT ?, customer_id, amount, term_months, interest_rate, purpose, originated_on, missed_payments_6m, defaulted_12m, ? FROM loans WHERE loan_id = 5',
      )
      .run(high.id + 1, high.m);
    writable.close();
    const next = await extract(config, dataset, store);
    expect(next.rows).toBe(3);
  });

  test('a run killed after some parts resumes without re-sending them, and writes one manifest', async () => {
    const { config, store, dataset } = workspace(3000);
    const puts: string[] = [];
    let failAfter = 2;
    const flaky: ObjectStore = {
      head: (k) => store.head(k),
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      putIfAbsent: async (k, body, sha) => {
        if (failAfter-- <= 0) throw new Error('connection reset');
        puts.push(k);
        return store.putIfAbsent(k, body, sha);
      },
    };
    await expect(extract(config, dataset, flaky)).rejects.toThrow('connection reset');
    expect(await store.list('landing/loans/')).toHaveLength(2);
    const later = new Date(NOW.getTime() + 3_600_000); // the resumed run keeps its original window
    puts.length = 0;
    failAfter = Number.POSITIVE_INFINITY;
    const resumed = await extract(config, dataset, flaky, later);
    expect(resumed.resumed).toBe(true);
    expect(puts.some((k) => k.endsWith('part-00000.csv.gz') || k.endsWith('part-00001.csv.gz'))).toBe(false);
    const keys = await store.list('landing/loans/');
    expect(keys.filter((k) => k.endsWith('_manifest.json'))).toHaveLength(1);
    const { manifest, rows } = await readRun(store, resumed.manifestKey!);
    expect(manifest.parts).toHaveLength(resumed.parts);
    expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length);
  });

  test.each([
    [
      'a source column without a policy',
      (d: DatasetConfig) => {
        const columns = { ...d.columns };
        delete columns.email;
        return { ...d, columns };
      },
      /1 source column\(s\) have no policy \(email\)/,
    ],
    ['a k the data cannot meet', (d: DatasetConfig) => ({ ...d, k: 200 }), /k-anonymity \(k=200\) would suppress/],
    [
      'a failing data test',
      (d: DatasetConfig) => ({
        ...d,
        tests: [{ test: 'accepted-values' as const, column: 'region', values: ['London'] }],
      }),
      /data tests failed: accepted-values on region: \d+ violating row/,
    ],
  ])('refuses %s and writes nothing', async (_label, change, message) => {
    const { config, store, dataset } = workspace(1500);
    await expect(extract(config, change(dataset), store)).rejects.toThrow(ExtractAbort);
    await expect(extract(config, change(dataset), store)).rejects.toThrow(message);
    expect(await store.list('')).toEqual([]);
    expect(existsSync(join(config.stateDir, dataset.name, 'spool.bin'))).toBe(false);
  });

  test('one process at a time extracts a dataset; a lock left by a killed process is taken over', async () => {
    const { config, store, dataset } = workspace(3000);
    const lock = join(config.stateDir, dataset.name, 'run.lock');
    mkdirSync(join(config.stateDir, dataset.name), { recursive: true });
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(lock, String(other.pid));
      await expect(extract(config, dataset, store)).rejects.toThrow(
        new ExtractAbort(`loans: another agent process (pid ${other.pid}) is extracting this dataset`),
      );
      expect(await store.list('')).toEqual([]);
    } finally {
      other.kill('SIGKILL');
      await once(other, 'exit');
    }
    const result = await extract(config, dataset, store); // the holder is gone
    expect(result.manifestKey).not.toBeNull();
    expect(existsSync(lock)).toBe(false);
    const [first, second] = await Promise.allSettled([
      extract(config, dataset, store, new Date('2026-11-29T12:00:00Z')),
      extract(config, dataset, store, new Date('2026-11-29T12:00:00Z')),
    ]);
    expect([first.status, second.status].sort()).toEqual(['fulfilled', 'rejected']);
  });

  test('refuses a source with NULL watermarks', async () => {
    const { db, config, store, dataset } = workspace(1000);
    const writable = new Database(db);
    writable.prepare('UPDATE loans SET updated_at = NULL WHERE loan_id = 5').run();
    writable.close();
    await expect(extract(config, dataset, store)).rejects.toThrow('1 row(s) have a NULL watermark (updated_at)');
    expect(await store.list('')).toEqual([]);
  });

  test('refuses a watermark column that holds numbers beside text (the window would skip them)', async () => {
    const { db, config, store, dataset } = workspace();
    const writable = new Database(db);
    // Redeclare loans.updated_at NUMERIC, which keeps ISO text as text and epoch seconds as numbers: SQLite then
    // sorts every number before any text, so the numeric bound of a NUMERIC column passes none of the text rows.
    const view = definitionOf(writable, 'loan_features');
    const table = definitionOf(writable, 'loans');
    writable.exec(`DROP VIEW loan_features; DROP INDEX loans_watermark; ALTER TABLE loans RENAME TO loans_text;
      ${table.replace('updated_at TEXT', 'updated_at NUMERIC')}; INSERT INTO loans SELECT * FROM loans_text;
      DROP TABLE loans_text; ${view};`);
    writable
      .prepare("UPDATE loans SET updated_at = CAST(strftime('%s', updated_at) AS INTEGER) WHERE loan_id % 2 = 0")
      .run();
    const text = (
      writable.prepare("SELECT COUNT(*) AS c FROM loans WHERE typeof(updated_at) = 'text'").get() as { c: number }
    ).c;
    writable.close();
    expect(text).toBeGreaterThan(0);
    await expect(extract(config, dataset, store)).rejects.toThrow(
      `${text} row(s) hold a watermark (updated_at, declared NUMERIC) that is not a number; the run window would skip them`,
    );
    expect(await store.list('')).toEqual([]);
  });
});

test('huge strings and unusual text survive a round trip through the CSV parts', async () => {
  const { db, config, store, dataset } = workspace(3000);
  const writable = new Database(db);
  const [c1, c2] = (
    writable.prepare('SELECT customer_id FROM loans ORDER BY loan_id LIMIT 2').raw().all() as number[][]
  ).map((r) => r[0]);
  const huge = 'x'.repeat(10 * 1024 * 1024);
  const odd = 'Ynys Môn, "Anglesey"\n😀';
  writable.prepare('UPDATE customers SET employment_status = ? WHERE customer_id = ?').run(huge, c1);
  writable.prepare('UPDATE customers SET region = ? WHERE customer_id = ?').run(odd, c2);
  writable.close();
  const result = await extract(config, { ...dataset, quasiIdentifiers: ['birth_date'] }, store);
  const manifest = JSON.parse(Buffer.from(await store.get(result.manifestKey!)).toString());
  const text = (
    await Promise.all(
      manifest.parts.map(async (p: { key: string }) =>
        gunzipSync(Buffer.from(await store.get(p.key))).toString('utf8'),
      ),
    )
  ).join('');
  expect(text.includes(`,${huge},`)).toBe(true);
  expect(text.includes(`,"Ynys Môn, ""Anglesey""\n😀",`)).toBe(true);
  expect(readFileSync(join(config.stateDir, 'loans', 'watermark.json'), 'utf8')).toContain('"value"');
});

test('a source that gains a column between runs is refused until the column has a policy', async () => {
  const { db, config, store } = workspace(3000);
  const dataset = { ...config.datasets[0], quasiIdentifiers: [] }; // a 50-row increment cannot meet a k gate
  await extract(config, dataset, store);
  const writable = new Database(db);
  rewriteFeatureView(writable, (view) => view.replace('l.defaulted_12m', "l.defaulted_12m, 'web' AS channel"));
  writable.prepare("UPDATE loans SET updated_at = '2026-11-21T00:00:00Z' WHERE loan_id <= 50").run();
  writable.close();
  const before = await store.list('');
  const watermark = readFileSync(join(config.stateDir, 'loans', 'watermark.json'), 'utf8');
  await expect(extract(config, dataset, store)).rejects.toThrow('1 source column(s) have no policy (channel)');
  expect(await store.list('')).toEqual(before);
  expect(readFileSync(join(config.stateDir, 'loans', 'watermark.json'), 'utf8')).toBe(watermark);
  const withPolicy = { ...dataset, columns: { ...dataset.columns, channel: { policy: 'keep' as const } } };
  await expect(extract(config, withPolicy, store)).resolves.toMatchObject({ rows: expect.any(Number) });
});

describe('direct identifiers under policy keep', () => {
  test('a column named like one is refused when the config is read, unless reviewed (identifier: false)', () => {
    const base = { ...example.datasets[0] };
    const raw = (columns: Record<string, unknown>) => ({
      source: { type: 'sqlite', path: 'bank.db' },
      sink: { type: 'filesystem', root: 'out' },
      stateDir: 'state',
      pseudonymisation: { kid: 'k1', key: { env: 'MLP_PSEUDONYM_KEY' } },
      datasets: [{ ...base, columns: { ...base.columns, ...columns } }],
    });
    for (const column of ['email', 'phone', 'full_name', 'national_id']) {
      expect(() => parseAgentConfig(raw({ [column]: { policy: 'keep' } }), 'agent.yaml')).toThrow(
        new RegExp(`"${column}" is named like a direct identifier`),
      );
    }
    expect(() => parseAgentConfig(raw({ email: { policy: 'keep', identifier: false } }), 'agent.yaml')).not.toThrow();
    // Business columns that only share a word with one are not refused.
    for (const column of ['product_name', 'branch_name', 'loan_purpose'])
      expect({ column, flagged: namesDirectIdentifier(column) }).toEqual({ column, flagged: false });
    for (const column of ['name', 'customer_name', 'Surname', 'contact_email', 'mobile_no'])
      expect({ column, flagged: namesDirectIdentifier(column) }).toEqual({ column, flagged: true });
  });

  test('a kept column whose values are e-mails, phones or national ids fails the run; none of them is stored', async () => {
    const { db, config, store, dataset } = workspace();
    const writable = new Database(db);
    rewriteFeatureView(writable, (view) =>
      view
        .replace('c.email, c.phone,', 'c.email AS contact, c.phone AS reach, c.national_id AS ref,')
        .replace('c.national_id, ', ''),
    );
    writable.close();
    const columns = { ...dataset.columns };
    delete columns.email;
    delete columns.phone;
    delete columns.national_id;
    const renamed = {
      ...dataset,
      columns: {
        ...columns,
        contact: { policy: 'keep' as const },
        reach: { policy: 'keep' as const },
        ref: { policy: 'keep' as const },
      },
    };
    const error = await extract(config, renamed, store).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ExtractAbort);
    const message = (error as Error).message;
    expect(message).toMatch(/contact: \d+ of \d+ values look like e-mail addresses/);
    expect(message).toMatch(/reach: \d+ of \d+ values look like phone numbers/);
    expect(message).toMatch(/ref: \d+ of \d+ values look like national ids/);
    expect(message).not.toMatch(/@example\.com/);
    expect(await store.list('')).toEqual([]);
  });

  test('dropped columns are not read from the source, unless the run needs them', async () => {
    const { config, store, dataset } = workspace();
    const source = new SqliteSource(config.source.type === 'sqlite' ? config.source.path : '');
    const queries: string[] = [];
    const recording = Object.assign(Object.create(source) as SqliteSource, {
      batches: (sql: string, binds: readonly unknown[]) => {
        queries.push(sql);
        return source.batches(sql, binds);
      },
    });
    try {
      await runExtract(
        config,
        { ...dataset, quasiIdentifiers: ['birth_date'] },
        { source: recording, store, key, now: () => NOW },
      );
    } finally {
      await source.close();
    }
    const [select] = queries;
    const dropped = Object.entries(dataset.columns)
      .filter(([, p]) => p.policy === 'drop')
      .map(([c]) => c);
    expect(dropped.length).toBeGreaterThan(0);
    for (const column of dropped)
      expect({ column, read: select.includes(`"${column}"`) }).toEqual({ column, read: false });
  });
});
