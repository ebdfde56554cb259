/**
 * The Oracle adapter against a fake node-oracledb driver backed by the synthetic bank in SQLite: the same
 * extract as the SQLite source, SQL with Oracle binds in a READ ONLY transaction, a stream that fails half-way
 * releases its connection, the pool drains on close. A real Oracle run is opt-in (ORACLE_CONNECT_STRING).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import {
  type OracleConnection,
  type OracleDriver,
  OracleSource,
  oraclePlaceholders,
} from '../../onprem-agent/source/oracle-source';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';

/** A node-oracledb look-alike that runs the SQL on SQLite, records calls, and can fail a stream mid-way. */
function fakeDriver(dbPath: string, options: { failStreamAfter?: number } = {}) {
  const db = new Database(dbPath, { readonly: true });
  const calls = { sql: [] as string[], opened: 0, closed: 0, poolClosed: false, fetchArraySize: 0 };
  const toSqlite = (sql: string) => sql.replace(/:\d+/g, '?');
  const connection = (): OracleConnection => ({
    async execute(sql, binds) {
      calls.sql.push(sql);
      if (sql === 'SET TRANSACTION READ ONLY') return {};
      const statement = db.prepare(toSqlite(sql)).raw(true);
      if (/WHERE 1 = 0/.test(sql))
        return {
          metaData: statement.columns().map((c) => ({ name: c.name, dbTypeName: c.type ?? 'VARCHAR2' })),
          rows: [],
        };
      return { rows: statement.all(...binds) as unknown[][] };
    },
    queryStream(sql, binds, streamOptions) {
      calls.sql.push(sql);
      calls.fetchArraySize = streamOptions.fetchArraySize;
      const rows = db
        .prepare(toSqlite(sql))
        .raw(true)
        .iterate(...binds) as IterableIterator<unknown[]>;
      let sent = 0;
      return Readable.from(
        (function* () {
          for (const row of rows) {
            if (options.failStreamAfter !== undefined && sent++ >= options.failStreamAfter) {
              throw new Error('ORA-03113: end-of-file on communication channel');
            }
            yield row;
          }
        })(),
      );
    },
    async commit() {},
    async close() {
      calls.closed++;
    },
  });
  const driver: OracleDriver = {
    OUT_FORMAT_ARRAY: 4001,
    async createPool() {
      return {
        async getConnection() {
          calls.opened++;
          return connection();
        },
        async close() {
          calls.poolClosed = true;
        },
      };
    },
  };
  return { driver, calls };
}

const example = loadAgentConfig(resolve(__dirname, '..', '..', 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
const NOW = new Date('2026-11-28T12:00:00Z');

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-oracle-'));
  const db = join(dir, 'bank.db');
  seedBank(db, { customers: 3000, seed: 4 });
  const dataset = { ...example.datasets[0], quasiIdentifiers: ['birth_date'], k: 3, partRows: 250 };
  const config = (name: string) => ({ ...example, stateDir: join(dir, `state-${name}`), datasets: [dataset] });
  return { dir, db, dataset, config };
}

test('rewrites ? placeholders to :1, :2, …', () => {
  expect(oraclePlaceholders('SELECT "A" FROM "T" WHERE ("W" > ? OR ("W" = ? AND "K" > ?)) AND "W" <= ?')).toBe(
    'SELECT "A" FROM "T" WHERE ("W" > :1 OR ("W" = :2 AND "K" > :3)) AND "W" <= :4',
  );
});

test('an extract through the Oracle adapter equals the one through SQLite, in one READ ONLY transaction', async () => {
  const { dir, db, dataset, config } = workspace();
  const { driver, calls } = fakeDriver(db);
  const oracle = await OracleSource.open(
    { connectString: 'dwh.bank.example:1521/DWH', user: 'mlp_agent', password: 'pw' },
    driver,
  );
  const viaOracle = await runExtract(config('oracle'), dataset, {
    source: oracle,
    store: new FilesystemStore(join(dir, 'store-oracle')),
    key: Buffer.alloc(32, 2),
    now: () => NOW,
  });
  await oracle.close();
  const sqlite = new SqliteSource(db);
  const viaSqlite = await runExtract(config('sqlite'), dataset, {
    source: sqlite,
    store: new FilesystemStore(join(dir, 'store-sqlite')),
    key: Buffer.alloc(32, 2),
    now: () => NOW,
  });
  await sqlite.close();
  const manifestOf = async (root: string, key: string) =>
    JSON.parse(Buffer.from(await new FilesystemStore(root).get(key)).toString());
  const a = await manifestOf(join(dir, 'store-oracle'), viaOracle.manifestKey!);
  const b = await manifestOf(join(dir, 'store-sqlite'), viaSqlite.manifestKey!);
  expect(a.parts.map((p: { sha256: string }) => p.sha256)).toEqual(b.parts.map((p: { sha256: string }) => p.sha256));
  expect(a.totalRows).toBe(b.totalRows);
  const inRun = calls.sql.slice(calls.sql.indexOf('SET TRANSACTION READ ONLY'));
  expect(inRun.length).toBeGreaterThan(3);
  expect(calls.sql.filter((s) => s.includes('ORDER BY')).every((s) => /<= :1/.test(s) && !s.includes('?'))).toBe(true);
  expect(calls.fetchArraySize).toBe(5000);
  expect(calls.closed).toBe(calls.opened);
  expect(calls.poolClosed).toBe(true);
});

test('a stream that fails half-way releases the connection and writes no manifest', async () => {
  const { dir, db, dataset, config } = workspace();
  const { driver, calls } = fakeDriver(db, { failStreamAfter: 400 });
  const oracle = await OracleSource.open({ connectString: 'dwh:1521/DWH', user: 'u', password: 'pw' }, driver);
  const store = new FilesystemStore(join(dir, 'store'));
  await expect(
    runExtract(config('fail'), dataset, { source: oracle, store, key: Buffer.alloc(32, 2), now: () => NOW }),
  ).rejects.toThrow('ORA-03113');
  expect(calls.closed).toBe(calls.opened);
  expect((await store.list('')).filter((k) => k.endsWith('_manifest.json'))).toEqual([]);
  await oracle.close();
});

const oracleConfigured = process.env.ORACLE_CONNECT_STRING ? test : test.skip;
oracleConfigured(
  'against a real Oracle (opt-in: set ORACLE_CONNECT_STRING, ORACLE_USER, ORACLE_PASSWORD)',
  async () => {
    const source = await OracleSource.open({
      connectString: process.env.ORACLE_CONNECT_STRING!,
      user: process.env.ORACLE_USER ?? '',
      password: process.env.ORACLE_PASSWORD ?? '',
    });
    try {
      const one = await source.snapshot(() => source.one('SELECT 1 FROM DUAL WHERE 1 = ?', [1]));
      expect(Number(one?.[0])).toBe(1);
      if (process.env.ORACLE_TEST_TABLE)
        expect((await source.describe(process.env.ORACLE_TEST_TABLE)).length).toBeGreaterThan(0);
    } finally {
      await source.close();
    }
  },
);
