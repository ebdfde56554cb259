/**
 * The curated store over time, with the real pieces: the synthetic bank in SQLite moved forward by `advanceBank`,
 * the agent extracting increments into the local landing bucket, and ValidateManifest and Prepare merging them
 * into Parquet with DuckDB. The snapshot is compared with the bank's own view (after the agent's transforms),
 * the training set with a count made directly in SQLite.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadEnvironment } from '../../config';
import { curated, s3Uri } from '../../contracts/s3-layout';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { LOCAL_LANDING_BUCKET, localSettings } from '../../local/local-home';
import { compileTransform, type SourceValue } from '../../onprem-agent/anonymise/column-transform';
import { type AgentConfig, loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { advanceBank } from '../../onprem-agent/seed/advance-bank';
import { readBankClock, seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { CuratedTables } from '../../stepfunctions/curated/curated-table';
import { quoteText, withEngine } from '../../stepfunctions/curated/duckdb-engine';
import { snapshotSql } from '../../stepfunctions/curated/training-set-sql';
import { splitOf, splitSql } from '../../stepfunctions/curated/split';
import { mergeExtractStep, prepareStep, type PreparedData, unloadUriOf } from '../../stepfunctions/steps/prepare';
import { unloadStatement } from '../../stepfunctions/curated/training-set';
import { athenaWorkGroupName, curatedGlueTableName } from '../../contracts/resource-names';
import { LocalAthena } from '../../local/local-athena';
import { LocalTableCatalog } from '../../local/local-table-catalog';
import { runLocalRetraining } from '../../local/local-retraining';
import { athenaEnvironments } from '../support/platform';
import { validateManifestStep } from '../../stepfunctions/steps/validate-manifest';

const ROOT = resolve(__dirname, '..', '..');
const example = loadAgentConfig(join(ROOT, 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
const settings = localSettings(loadEnvironment('dev'));
const KEY = Buffer.from('curated-store-test-key-0123456789abcdef');
const LAG_SECONDS = example.datasets[0].watermark.lagSeconds;

/** A home with a bank, the agent pointed at its landing bucket, and the two steps over its buckets. */
function workspace(name: string, kid = example.pseudonymisation.kid) {
  const home = mkdtempSync(join(tmpdir(), `mlp-curated-${name}-`));
  const bank = join(home, 'bank.db');
  seedBank(bank, { customers: 3000, seed: 9 });
  const store = new LocalArtifactStore(join(home, 's3'));
  const agent = (stateDir: string, keyId = kid): AgentConfig => ({
    ...example,
    source: { type: 'sqlite', path: bank },
    sink: { type: 'filesystem', root: join(home, 's3', LOCAL_LANDING_BUCKET) },
    pseudonymisation: { ...example.pseudonymisation, kid: keyId },
    stateDir,
    // No quasi-identifier: the k-anonymity gate (tested with the agent) suppresses nothing, so every row of
    // the view reaches the table and the snapshot can be compared with the view row for row.
    datasets: example.datasets.map((d) => ({ ...d, quasiIdentifiers: [], partRows: 500 })),
  });
  let config = agent(join(home, 'agent-state'));
  const steps = { validate: validateManifestStep({ store, settings }), prepare: prepareStep({ store, settings }) };
  /** One agent run at `now`, validated and prepared. */
  const land = async (now: string, key = KEY) => {
    const source = new SqliteSource(bank);
    let result;
    try {
      result = await runExtract(config, config.datasets[0], {
        source,
        store: new FilesystemStore(join(home, 's3', LOCAL_LANDING_BUCKET)),
        key,
        now: () => new Date(now),
      });
    } finally {
      await source.close();
    }
    expect(result.suppressedRows).toBe(0);
    const validation = await steps.validate({ manifestKey: result.manifestKey!, trigger: 'manifest' });
    const prepare = () => steps.prepare({ validation, executionName: `test-${result.runId}` });
    return { result, validation, prepare, bound: upperBound(now) };
  };
  return {
    home,
    bank,
    store,
    land,
    steps,
    /** Points the agent at another key id and state directory (a re-keyed agent). */
    rekey: (keyId: string, stateDir: string) => (config = agent(stateDir, keyId)),
    config: () => config,
  };
}

/** The agent's upper bound for a run at `now`: now minus the lag. */
const upperBound = (now: string) =>
  new Date(Date.parse(now) - LAG_SECONDS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The bank view's rows with `updated_at` at or below `bound`, as the agent's run with that bound writes them. */
function expectedRows(bank: string, config: AgentConfig, bounds: readonly string[]) {
  const dataset = config.datasets[0];
  const db = new Database(bank, { readonly: true });
  try {
    const rows = db.prepare('SELECT * FROM loan_features ORDER BY loan_id').all() as Record<string, SourceValue>[];
    const byKey = new Map<string, Record<string, unknown>>();
    for (const row of rows) {
      const updated = String(row.updated_at);
      // The run that carried the row's current version: the first whose bound covers it.
      const bound = bounds.find((b) => updated <= b);
      if (bound === undefined) continue;
      const out: Record<string, unknown> = {};
      for (const [column, policy] of Object.entries(dataset.columns)) {
        if (policy.policy === 'drop') continue;
        const transform = compileTransform(policy, {
          dataset: dataset.name,
          column,
          key: KEY,
          asOf: bound.slice(0, 10),
        });
        out[column] = transform(row[column]);
      }
      byKey.set(String(out[dataset.primaryKey]), out);
    }
    return byKey;
  } finally {
    db.close();
  }
}

/** The snapshot as of the `seq`th merged manifest, each value as the agent wrote it (text, or null). */
async function snapshot(store: LocalArtifactStore, seq: number) {
  const log = (await new CuratedTables(store, settings).current())!;
  const files = log.entries.slice(0, seq).map((e) => store.pathOf(s3Uri(settings.buckets.curated, e.file)));
  const columns = Object.keys(log.schema);
  const rules = {
    keyColumn: settings.keyColumn,
    watermarkColumn: log.watermarkColumn,
    label: settings.label,
    features: [],
    window: settings.trainingSet.window,
    maturity: settings.trainingSet.maturity,
  };
  const source = `read_parquet([${files.map(quoteText).join(', ')}])`;
  const rows = await withEngine((engine) => engine.rows(snapshotSql(source, columns, rules, seq)));
  const byKey = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const out: Record<string, unknown> = {};
    for (const c of columns) out[c] = row[c] === null ? null : row[c];
    byKey.set(String(row[settings.keyColumn]), out);
  }
  return { byKey, log };
}

/** The agent's text of a value, typed as the table holds it. */
function typed(schema: Readonly<Record<string, string>>, row: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [c, type] of Object.entries(schema)) {
    const v = row[c] as string | null;
    out[c] = v === null ? null : type === 'string' ? v : Number(v);
  }
  return out;
}

function expectSnapshotEquals(
  actual: Map<string, Record<string, unknown>>,
  expected: Map<string, Record<string, unknown>>,
  schema: Readonly<Record<string, string>>,
) {
  expect(actual.size).toBe(expected.size);
  const differing = [...expected].filter(([key, row]) => {
    const got = actual.get(key);
    return got === undefined || JSON.stringify(got) !== JSON.stringify(typed(schema, row));
  });
  expect(differing.map(([key]) => key.slice(0, 12))).toEqual([]);
}

/** Every `every`th loan misses a payment at `when`. */
function lateChange(bank: string, when: string, every: number): void {
  const db = new Database(bank);
  try {
    db.prepare(
      'UPDATE loans SET missed_payments_6m = missed_payments_6m + 1, updated_at = ? WHERE loan_id % ? = 0',
    ).run(when, every);
  } finally {
    db.close();
  }
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('three increments and an advance of the bank', () => {
  const w = workspace('increments');
  const runs: Awaited<ReturnType<typeof w.land>>[] = [];
  const prepared: PreparedData[] = [];
  /** The snapshot expected after each run, built from SQLite at that moment. */
  const expected: Map<string, Record<string, unknown>>[] = [];

  test('a first full extract: the snapshot is the view up to the run bound; rows inside the lag window wait', async () => {
    // Loans changed at 23:00 fall inside the lag window of a run at 23:30: they come with the next run.
    lateChange(w.bank, '2026-10-31T23:00:00Z', 50);
    const run = await w.land('2026-10-31T23:30:00Z');
    runs.push(run);
    prepared.push(await run.prepare());
    const check = new Database(w.bank, { readonly: true });
    const late = check.prepare('SELECT COUNT(*) FROM loan_features WHERE updated_at > ?').pluck().get(run.bound);
    check.close();
    expect(late).toBeGreaterThan(10);
    const { byKey, log } = await snapshot(w.store, 1);
    expected.push(expectedRows(w.bank, w.config(), [run.bound]));
    expectSnapshotEquals(byKey, expected[0], log.schema);
  });

  test('after a month of the bank, a second increment updates existing keys and adds new ones and the late rows', async () => {
    const before = await snapshot(w.store, 1);
    const advanced = advanceBank(w.bank, { days: 30 });
    expect(advanced).toMatchObject({ from: '2026-10-31', to: '2026-11-30' });
    expect(advanced.matured).toBeGreaterThan(0);
    lateChange(w.bank, '2026-11-30T23:00:00Z', 37); // inside the next run's lag window
    const run = await w.land('2026-11-30T23:30:00Z');
    runs.push(run);
    prepared.push(await run.prepare());
    const { byKey, log } = await snapshot(w.store, 2);
    // Rows changed after the second run's bound keep, in the table, the version the first run carried.
    expected.push(new Map([...expected[0], ...expectedRows(w.bank, w.config(), [runs[0].bound, run.bound])]));
    expectSnapshotEquals(byKey, expected[1], log.schema);
    const keys = [...byKey.keys()];
    const updated = keys.filter(
      (k) => before.byKey.has(k) && before.byKey.get(k)!.updated_at !== byKey.get(k)!.updated_at,
    );
    const inserted = keys.filter((k) => !before.byKey.has(k));
    expect(updated.length).toBeGreaterThan(0);
    expect(inserted.length).toBeGreaterThan(advanced.newLoans - 1);
    // An outcome that matured in the month is in the snapshot; before, the same loan had none.
    const matured = updated.filter(
      (k) => before.byKey.get(k)!.defaulted_12m === null && byKey.get(k)!.defaulted_12m !== null,
    );
    expect(matured.length).toBeGreaterThan(0);
  });

  test('a third increment carries the rows that were inside the second run lag window; the snapshot equals the view', async () => {
    const run = await w.land('2026-12-01T06:00:00Z');
    expect(run.result.rows).toBeGreaterThan(10);
    runs.push(run);
    prepared.push(await run.prepare());
    const db = new Database(w.bank, { readonly: true });
    const newest = db.prepare('SELECT MAX(updated_at) FROM loan_features').pluck().get() as string;
    db.close();
    expect(newest <= run.bound).toBe(true);
    const { byKey, log } = await snapshot(w.store, 3);
    expect(log.entries.map((e) => e.runId)).toEqual(runs.map((r) => r.result.runId));
    expectSnapshotEquals(
      byKey,
      expectedRows(
        w.bank,
        w.config(),
        runs.map((r) => r.bound),
      ),
      log.schema,
    );
  });

  test('the retrain after the second increment trains on every mature row in the window, not on the increment', async () => {
    const second = prepared[1];
    const total = second.rows.train + second.rows.validation + second.rows.test;
    expect(total).toBeGreaterThan(runs[1].result.rows);
    // Counted in SQLite directly, on the rows as of the second run: the label known, the loan originated from
    // 36 months before the as-of date (a month counts from its first day) to 12 months before it (from its last).
    expect(second.asOf).toBe(runs[1].bound.slice(0, 10));
    const lineage = JSON.parse(readFileSync(w.store.pathOf(second.trainingSetUri), 'utf8'));
    expect(lineage.manifests.map((m: { runId: string }) => m.runId)).toEqual(
      runs.slice(0, 2).map((r) => r.result.runId),
    );
    expect(lineage.window).toEqual({ column: 'originated_on', months: 36, from: '2023-11-30' });
    expect(lineage.maturity).toEqual({ labelKnown: true, minAgeMonths: 12, matureBy: '2025-11-30' });
    const mature = [...expected[1].values()].filter((row) => {
      const [year, month] = String(row.originated_on).split('-').map(Number);
      const first = `${row.originated_on}-01`;
      const last = new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
      return row.defaulted_12m !== null && first >= '2023-11-30' && last <= '2025-11-30';
    });
    expect(total).toBe(mature.length);
    expect(lineage.rows).toEqual(second.rows);
    expect(second.manifests).toBe(2);
  });

  test('Prepare run again on the same manifest gives the same dataset version and the same bytes, and merges nothing', async () => {
    const last = prepared[2];
    const keys = curated.keys(settings.dataset, last.datasetVersion);
    const files = [keys.train, keys.validation, keys.testRecords, keys.featureSpec, keys.baseline, keys.trainingSet];
    const read = () => files.map((k) => sha(readFileSync(w.store.pathOf(s3Uri(settings.buckets.curated, k)))));
    const before = read();
    const again = await runs[2].prepare();
    expect(again.datasetVersion).toBe(last.datasetVersion);
    expect(read()).toEqual(before);
    expect((await new CuratedTables(w.store, settings).current())!.entries).toHaveLength(3);
    // The version tells the training sets apart: each increment's differs.
    expect(new Set(prepared.map((p) => p.datasetVersion)).size).toBe(3);
  });

  test("a new environment's first run on an increment catches up from the full extract: the same training set", async () => {
    const prod = localSettings(loadEnvironment('prod'));
    const first = await prepareStep({ store: w.store, settings: prod })({
      validation: runs[2].validation,
      executionName: 'prod-first',
    });
    expect(first.manifests).toBe(3);
    expect(first.datasetVersion).toBe(prepared[2].datasetVersion);
    expect(first.rows).toEqual(prepared[2].rows);
  });

  test('Athena selects the same training set: MergeExtract, the UNLOAD on the local Athena, Prepare give the same version and bytes', async () => {
    // A new environment whose training sets Athena selects: it catches up from the landed extracts.
    const staging = localSettings(loadEnvironment('staging', athenaEnvironments('staging')));
    const catalog = new LocalTableCatalog(join(w.home, 'catalog'));
    const deps = { store: w.store, settings: staging, catalog };
    const athena = new LocalAthena(w.store, catalog);
    const input = { validation: runs[2].validation, executionName: 'athena-1' };
    const merged = await mergeExtractStep(deps)(input);
    expect(merged).toMatchObject({ seq: 3, datasetVersion: prepared[2].datasetVersion });
    const table = (await catalog.get(staging.glueDatabase, curatedGlueTableName(staging.dataset, merged.kid)))!;
    expect(table.location).toBe(s3Uri(staging.buckets.curated, curated.tablePrefix(staging.dataset, merged.kid)));
    // The statement is the training set's own query over the Glue table in place of "curated", read only from
    // the files the table's log lists (by the name of each under the location), inside UNLOAD.
    const lineage = JSON.parse(readFileSync(w.store.pathOf(prepared[2].trainingSetUri), 'utf8'));
    const log = (await new CuratedTables(w.store, staging).log(merged.kid))!;
    const names = log.entries.map((e) =>
      quoteText(e.file.slice(curated.tablePrefix(staging.dataset, merged.kid).length)),
    );
    const source =
      `(SELECT * FROM "${table.database}"."${table.name}" WHERE SUBSTR("$path", ${table.location.length + 1}) ` +
      `IN (${names.join(', ')})) AS "logged"`;
    expect(merged.queryString).toBe(unloadStatement(lineage.query.replace('"curated"', source), merged.unloadUri));
    expect(merged.clientRequestToken).toMatch(/^[0-9a-f]{64}$/);
    // Athena reads every object under the location: a file an interrupted merge left there (here: every row
    // version of the table again, each newer than any and relabelled) must change nothing.
    const orphan = w.store.pathOf(`${table.location}000003-interrupted.parquet`);
    const logged = log.entries.map((e) => quoteText(w.store.pathOf(s3Uri(staging.buckets.curated, e.file))));
    await withEngine((engine) =>
      engine.run(
        `COPY (SELECT * REPLACE ('9999-12-31T00:00:00Z' AS updated_at, 1 - ${settings.label} AS ${settings.label}) ` +
          `FROM read_parquet([${logged.join(', ')}])) TO ${quoteText(orphan)} (FORMAT PARQUET)`,
      ),
    );
    const request = {
      QueryString: merged.queryString,
      WorkGroup: athenaWorkGroupName('staging'),
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: staging.glueDatabase },
    };
    const query = await athena.startQueryExecutionSync({ ...request, ClientRequestToken: merged.clientRequestToken });
    expect(query.QueryExecution.Status.State).toBe('SUCCEEDED');
    // A start repeated under its token names the same query; the token with another statement is refused.
    const repeated = await athena.startQueryExecutionSync({
      ...request,
      ClientRequestToken: merged.clientRequestToken,
    });
    expect(repeated.QueryExecution.QueryExecutionId).toBe(query.QueryExecution.QueryExecutionId);
    await expect(
      athena.startQueryExecutionSync({
        ...request,
        QueryString: `${request.QueryString} `,
        ClientRequestToken: merged.clientRequestToken,
      }),
    ).rejects.toMatchObject({ name: 'Athena.InvalidRequestException' });
    expect(query.QueryExecution.Statistics.DataScannedInBytes).toBeGreaterThan(0);
    const viaAthena = await prepareStep(deps)({ ...input, merged });
    expect(viaAthena).toMatchObject({ datasetVersion: prepared[2].datasetVersion, rows: prepared[2].rows });
    const keys = curated.keys(settings.dataset, viaAthena.datasetVersion);
    const files = [keys.train, keys.validation, keys.testRecords, keys.featureSpec, keys.baseline, keys.trainingSet];
    const bytes = (bucket: string) => files.map((k) => sha(readFileSync(w.store.pathOf(s3Uri(bucket, k)))));
    expect(bytes(staging.buckets.curated)).toEqual(bytes(settings.buckets.curated));

    // As Athena: UNLOAD wants an empty prefix, a table must be in the catalog, and its types must be the files'.
    await expect(athena.startQueryExecutionSync(request)).rejects.toMatchObject({
      name: 'States.TaskFailed',
      message: expect.stringMatching(/HIVE_PATH_ALREADY_EXISTS/),
    });
    const elsewhere = (name: string) =>
      unloadStatement(`SELECT * FROM "${table.database}"."${name}"`, `${merged.unloadUri}${name}/`);
    await expect(athena.startQueryExecutionSync({ QueryString: elsewhere('absent') })).rejects.toThrow(
      /TABLE_NOT_FOUND/,
    );
    const mistyped = table.columns.map((c) => (c.type === 'double' ? { ...c, type: 'bigint' as const } : c));
    await catalog.register({ ...table, name: 'mistyped', columns: mistyped });
    await expect(athena.startQueryExecutionSync({ QueryString: elsewhere('mistyped') })).rejects.toThrow(
      /HIVE_BAD_DATA/,
    );
    // Prepare refuses a plan the table no longer gives.
    await expect(
      prepareStep(deps)({ ...input, merged: { ...merged, datasetVersion: '0'.repeat(64) } }),
    ).rejects.toThrow(/changed between MergeExtract and Prepare/);
    // …and reads nothing but the prefix MergeExtract named for the execution.
    const away = {
      ...merged,
      unloadUri: s3Uri(staging.buckets.curated, curated.tablePrefix(staging.dataset, merged.kid)),
    };
    await expect(prepareStep(deps)({ ...input, merged: away })).rejects.toThrow(/not under this execution's prefix/);
    // …and refuses unloaded rows that are not one per key (a snapshot's).
    const [unloaded] = await w.store.list(merged.unloadUri);
    copyFileSync(w.store.pathOf(unloaded), w.store.pathOf(`${merged.unloadUri}again.parquet`));
    await expect(prepareStep(deps)({ ...input, merged })).rejects.toMatchObject({
      name: 'ManifestInvalid',
      message: expect.stringMatching(/holds \d+ row\(s\) more than keys/),
    });
  });

  test('the synthesized state machine of an Athena environment runs MergeExtract, QueryTrainingSet and Prepare', async () => {
    const result = await runLocalRetraining({
      config: loadEnvironment('dev', athenaEnvironments('dev')),
      home: w.home,
      input: { manifestKey: runs[2].result.manifestKey, trigger: 'manifest' },
    });
    expect(result.error).toBeUndefined();
    expect(result.path.slice(0, 5)).toEqual([
      'ValidateManifest',
      'MergeExtract',
      'QueryTrainingSet',
      'Prepare',
      'Train',
    ]);
    const output = result.output as { prepared: PreparedData; trainingSetQuery: { state: string } };
    expect(output.trainingSetQuery.state).toBe('SUCCEEDED');
    expect(output.prepared.datasetVersion).toBe(prepared[2].datasetVersion);
  });

  test("a failed query reaches NotifyFailure with its error and a fixed cause, never Athena's reason", async () => {
    const config = loadEnvironment('dev', athenaEnvironments('dev'));
    const executionName = 'athena-refused';
    // Something is already under the execution's UNLOAD prefix: Athena refuses to write there.
    const target = unloadUriOf(localSettings(config), prepared[2].datasetVersion, executionName);
    await w.store.put(`${target}earlier.parquet`, 'x');
    const result = await runLocalRetraining({
      config,
      home: w.home,
      executionName,
      input: { manifestKey: runs[2].result.manifestKey, trigger: 'manifest' },
    });
    expect(result.path.slice(1)).toEqual([
      'MergeExtract',
      'QueryTrainingSet',
      'TrainingSetQueryFailed',
      'NotifyFailure',
      'RetrainingFailed',
    ]);
    const notified = readFileSync(join(w.home, 'logs', 'dev', 'notifications.log'), 'utf8')
      .trim()
      .split('\n');
    const message = JSON.parse(notified.at(-1)!.slice(notified.at(-1)!.indexOf(' ') + 1));
    expect(message.error).toBe('States.TaskFailed');
    expect(message.cause).toBe(
      `Athena did not select the training set into ${target}: its reason is in the query history of workgroup ` +
        `${athenaWorkGroupName('dev')}, not here, as it may quote row values`,
    );
  });

  test('a schedule-triggered run (no manifest named) builds as of the latest merged manifest', async () => {
    const validation = await w.steps.validate({ trigger: 'schedule' });
    expect(validation.manifestUri).toBe(s3Uri(settings.buckets.landing, runs[2].result.manifestKey!));
  });
});

test('a manifest under another key id is refused; a re-extract from scratch under it starts a new table', async () => {
  const w = workspace('rekey');
  await (await w.land('2026-10-31T23:30:00Z')).prepare();
  advanceBank(w.bank, { days: 10 });
  // The agent re-keyed but kept its watermark: an increment under the new key id cannot join the table.
  w.rekey('rotated-2026-12', join(w.home, 'agent-state'));
  const increment = await w.land('2026-11-10T23:30:00Z', Buffer.from('another-key-of-at-least-32-bytes-long'));
  await expect(increment.prepare()).rejects.toMatchObject({ name: 'KeyMismatch' });
  const tables = new CuratedTables(w.store, settings);
  expect(await tables.currentKid()).toBe(example.pseudonymisation.kid);
  expect((await tables.current())!.entries).toHaveLength(1);
  // A full re-extract under the new key id starts its own table, which becomes current.
  w.rekey('rotated-2026-12', join(w.home, 'agent-state-rotated'));
  const full = await w.land('2026-11-10T23:30:00Z', Buffer.from('another-key-of-at-least-32-bytes-long'));
  const prepared = await full.prepare();
  expect(await tables.currentKid()).toBe('rotated-2026-12');
  expect((await tables.current())!.entries).toHaveLength(1);
  expect(prepared.manifests).toBe(1);
});

test('an increment that does not follow on from the table merges the one landed between; a missing one is refused', async () => {
  const w = workspace('gap');
  await (await w.land('2026-10-31T23:30:00Z')).prepare();
  advanceBank(w.bank, { days: 10 });
  const second = await w.land('2026-11-10T23:30:00Z'); // landed, its execution never ran
  advanceBank(w.bank, { days: 10 });
  const third = await w.land('2026-11-20T23:30:00Z');
  const prepared = await third.prepare();
  expect(prepared.manifests).toBe(3);
  const log = (await new CuratedTables(w.store, settings).current())!;
  expect(log.entries.slice(1).map((e) => e.runId)).toEqual([second.result.runId, third.result.runId]);

  // A manifest gone from the landing bucket leaves a gap no merge can fill: refused, the table unchanged.
  advanceBank(w.bank, { days: 10 });
  const fourth = await w.land('2026-11-30T23:30:00Z');
  advanceBank(w.bank, { days: 10 });
  const fifth = await w.land('2026-12-10T23:30:00Z');
  await w.store.delete(s3Uri(settings.buckets.landing, fourth.result.manifestKey!));
  await expect(fifth.prepare()).rejects.toMatchObject({
    name: 'ManifestInvalid',
    message: expect.stringContaining('an extract between is missing'),
  });
  expect((await new CuratedTables(w.store, settings).current())!.entries).toHaveLength(3);
});

test("DuckDB's failures go on by their kind only: the values they quote never reach a log", async () => {
  const failure = withEngine((engine) => engine.run("SELECT CAST('AB123456C' AS INTEGER)"));
  await expect(failure).rejects.toMatchObject({
    name: 'EngineError',
    message: expect.stringContaining('Conversion Error'),
  });
  await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('AB123456C') });
});

test('the split DuckDB computes is the split of splitOf, key for key', async () => {
  const keys = Array.from({ length: 3000 }, (_, i) => createHash('sha256').update(`k${i}`).digest('hex'));
  const rows = await withEngine((engine) =>
    engine.rows(
      `SELECT k, ${splitSql('k')} AS split FROM (VALUES ${keys.map((k) => `(${quoteText(k)})`).join(', ')}) AS t(k)`,
    ),
  );
  expect(rows.map((r) => r.split)).toEqual(keys.map(splitOf));
  expect(new Set(rows.map((r) => r.split))).toEqual(new Set(['train', 'validation', 'test']));
});

test('the bank moves deterministically, and an outcome appears only once its horizon has passed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-advance-'));
  const banks = ['a.db', 'b.db'].map((name) => join(dir, name));
  for (const bank of banks) {
    seedBank(bank, { customers: 2000, seed: 3 });
    advanceBank(bank, { days: 45, shift: { loan_amount: 1.5 } });
  }
  const dump = (bank: string) => {
    const db = new Database(bank, { readonly: true });
    try {
      return {
        clock: readBankClock(db),
        rows: db.prepare('SELECT * FROM loan_features ORDER BY loan_id').all() as Record<string, unknown>[],
      };
    } finally {
      db.close();
    }
  };
  const [a, b] = banks.map(dump);
  expect(a).toEqual(b);
  expect(a.clock).toEqual({ asOf: '2026-12-15', seed: 3, advances: 1 });
  const horizon = new Date(Date.parse('2026-12-15T00:00:00Z') - 365 * 86_400_000).toISOString().slice(0, 10);
  const unknown = a.rows.filter((r) => r.defaulted_12m === null);
  expect(unknown.length).toBeGreaterThan(0);
  expect(unknown.every((r) => String(r.originated_on) > horizon)).toBe(true);
  expect(a.rows.filter((r) => r.defaulted_12m !== null).every((r) => String(r.originated_on) <= horizon)).toBe(true);
  // The loans that originated in the period carry the shift: larger on average than those before.
  const mean = (rows: Record<string, unknown>[]) => rows.reduce((s, r) => s + Number(r.loan_amount), 0) / rows.length;
  const fresh = a.rows.filter((r) => String(r.originated_on) > '2026-10-31');
  expect(fresh.length).toBeGreaterThan(0);
  expect(mean(fresh)).toBeGreaterThan(1.3 * mean(a.rows.filter((r) => String(r.originated_on) <= '2026-10-31')));
  expect(fresh.every((r) => String(r.updated_at) > '2026-10-31')).toBe(true);
});
