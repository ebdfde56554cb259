/**
 * Realised outcomes as the agent's own dataset, end to end with the real pieces: the synthetic bank in SQLite
 * (moved a month on by `advanceBank`), the agent extracting `loans` and `loan_outcomes` under the example policy
 * (the loan's pseudonym linked across both by `linkAs`), captures written by the scorer's sink, and the quality
 * job merging the outcomes extracts into their curated table and joining them to the captured predictions.
 * The expected labels are the ones the loans extract itself carries for the same pseudonyms, so the join proves
 * the linkage; the realised AUC is checked against binaryMetrics (itself checked against numpy elsewhere).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { curated, s3Uri } from '../../contracts/s3-layout';
import { CAPTURE_FORMAT, captureSink } from '../../lambdas/monitoring/capture';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { type AgentConfig, loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { advanceBank } from '../../onprem-agent/seed/advance-bank';
import { readBankClock, seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { CuratedTables } from '../../stepfunctions/curated/curated-table';
import { readSideTable, type SideRow, type SideTable } from '../../stepfunctions/curated/side-table';
import { quoteText, withEngine } from '../../stepfunctions/curated/duckdb-engine';
import { loadManifest } from '../../stepfunctions/extract-manifest';
import { binaryMetrics } from '../../stepfunctions/model-metrics';
import { type OutcomeSource, runQualityJob } from '../../stepfunctions/monitoring/quality-job';
import Database from 'better-sqlite3';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '..', '..');
const example = loadAgentConfig(join(ROOT, 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
const KEY = Buffer.from('outcomes-test-key-0123456789abcdef');
const buckets = { landing: 'landing', curated: 'curated' };
const outcomes: OutcomeSource = {
  dataset: 'loan_outcomes',
  keyColumn: 'loan_id',
  label: 'defaulted_12m',
  buckets,
  mergeLanded: true,
};
const VERSION = 'mlp-dev-loans/1';

type Datasets = AgentConfig['datasets'];

/** A bank, the agent over it (both datasets, landing in the store's landing bucket) and the store. */
function workspace(edit: (datasets: Datasets) => Datasets = (d) => d) {
  const home = mkdtempSync(join(tmpdir(), 'mlp-outcomes-'));
  const bank = join(home, 'bank.db');
  seedBank(bank, { customers: 3000, seed: 11 });
  const store = new LocalArtifactStore(join(home, 's3'));
  const landingRoot = join(home, 's3', buckets.landing);
  let config: AgentConfig = {
    ...example,
    source: { type: 'sqlite', path: bank },
    sink: { type: 'filesystem', root: landingRoot },
    stateDir: join(home, 'agent-state'),
    // No quasi-identifier: every loan reaches its extract, so every scored loan can find its outcome.
    datasets: edit(example.datasets.map((d) => ({ ...d, quasiIdentifiers: [] }))),
  };
  /** One agent run of every dataset at the bank's next midnight plus the lag; the landed manifest keys. */
  const extract = async () => {
    const db = new Database(bank, { readonly: true });
    const asOf = readBankClock(db).asOf;
    db.close();
    const keys: Record<string, string> = {};
    for (const dataset of config.datasets) {
      const source = new SqliteSource(bank);
      try {
        const result = await runExtract(config, dataset, {
          source,
          store: new FilesystemStore(landingRoot),
          key: KEY,
          now: () => new Date(Date.parse(`${asOf}T00:00:00Z`) + 86_400_000 + dataset.watermark.lagSeconds * 1000),
        });
        keys[dataset.name] = result.manifestKey!;
      } finally {
        await source.close();
      }
    }
    return keys;
  };
  /** Changes the agent's datasets for the runs after. */
  const reconfigure = (change: (datasets: Datasets) => Datasets) => {
    config = { ...config, datasets: change(config.datasets) };
  };
  return { home, bank, store, extract, reconfigure, capturePrefix: join(home, 's3', 'cap', 'loans') };
}

/** Pseudonym → label (null: not known yet) of every row a loans extract carries, its parts read by DuckDB. */
async function loansExtractLabels(store: LocalArtifactStore, manifestKey: string) {
  const manifest = JSON.parse(Buffer.from(await store.get(s3Uri(buckets.landing, manifestKey))).toString());
  const files = manifest.parts.map((p: { key: string }) => store.pathOf(s3Uri(buckets.landing, p.key)));
  const rows = await withEngine((engine) =>
    engine.rows(
      `SELECT loan_id, defaulted_12m FROM read_csv([${files.map(quoteText).join(', ')}], header = true, ` +
        `all_varchar = true)`,
    ),
  );
  return new Map(rows.map((r) => [String(r.loan_id), r.defaulted_12m === null ? null : Number(r.defaulted_12m)]));
}

/** One capture of `keys`, scored so that defaulters tend to score higher (a model worth an AUC). */
async function captureScores(prefix: string, keys: readonly string[], labels: ReadonlyMap<string, number | null>) {
  const predictions = keys.map((key, i) => {
    const noise = ((i * 7919) % 1000) / 1000;
    return { key, score: Math.min(0.999, 0.6 * noise + (labels.get(key) === 1 ? 0.35 : 0)) };
  });
  await captureSink(prefix).write({
    format: CAPTURE_FORMAT,
    modelVersion: VERSION,
    requestId: `req-${keys.length}`,
    capturedAt: '2026-11-02T10:00:00.000Z',
    predictions,
  });
  return predictions;
}

const settings = { dataset: 'loans', captureBucket: 'cap', outcomes, days: 400, minLabelled: 50 };

test('outcomes land as their own dataset, are merged by the quality job and join the captured predictions', async () => {
  const ws = workspace();
  const first = await ws.extract();
  const loans = await loansExtractLabels(ws.store, first.loans);
  const keys = [...loans.keys()];
  const predictions = await captureScores(ws.capturePrefix, keys, loans);

  const run = await runQualityJob(ws.store, settings, new Date('2026-11-02T12:00:00Z'));
  expect(run.problems).toEqual([]);
  const [cohort] = run.report.cohorts;
  // Every loan the loans extract labels is labelled through the outcomes dataset, with the same label.
  const known = predictions.filter((p) => loans.get(p.key) !== null);
  expect(known.length).toBeGreaterThan(500);
  expect(cohort).toMatchObject({ modelVersion: VERSION, predictions: keys.length, labelled: known.length });
  const expected = binaryMetrics(
    known.map((p) => loans.get(p.key)!),
    known.map((p) => p.score),
  );
  expect(cohort.realised!.auc).toBeCloseTo(expected.auc, 12);
  expect(cohort.realised!.positives).toBe(expected.positives);
  // The outcomes table exists beside the loans' (which nobody merged here), one entry per outcomes extract.
  const log = JSON.parse(
    Buffer.from(await ws.store.get(s3Uri('curated', curated.currentTableKey('loan_outcomes')))).toString(),
  );
  expect(log.kid).toBe(example.pseudonymisation.kid);

  // A table from before pseudonym domains were recorded takes the next manifest's, and is not refused.
  const logUri = s3Uri('curated', curated.tableLogKey('loan_outcomes', log.kid));
  const { pseudonyms, ...unrecorded } = JSON.parse(Buffer.from(await ws.store.get(logUri)).toString());
  expect(pseudonyms).toEqual({ loan_id: 'link:loan' });
  await ws.store.put(logUri, JSON.stringify(unrecorded));

  // A month on: more outcomes are known. The next run merges the increment (once, however often it runs).
  advanceBank(ws.bank, { days: 30 });
  const second = await ws.extract();
  const later = await loansExtractLabels(ws.store, second.loans);
  const now = new Date('2026-12-02T12:00:00Z');
  await runQualityJob(ws.store, settings, now);
  const again = await runQualityJob(ws.store, settings, now);
  // A loan the increment carries has its latest label there; the others keep the first extract's.
  const labelled = predictions.filter((p) => (later.has(p.key) ? later.get(p.key) : loans.get(p.key)) !== null);
  expect(again.report.cohorts[0].labelled).toBe(labelled.length);
  expect(labelled.length).toBeGreaterThan(known.length);
  const table = JSON.parse(
    Buffer.from(await ws.store.get(s3Uri('curated', curated.tableLogKey('loan_outcomes', log.kid)))).toString(),
  );
  expect(table.entries.map((e: { manifestKey: string }) => e.manifestKey)).toEqual([
    first.loan_outcomes,
    second.loan_outcomes,
  ]);
  expect(table.pseudonyms).toEqual({ loan_id: 'link:loan' });
});

test('a damaged outcomes extract is named and not merged; the outcomes merged so far still count', async () => {
  const ws = workspace();
  const first = await ws.extract();
  const loans = await loansExtractLabels(ws.store, first.loans);
  await captureScores(ws.capturePrefix, [...loans.keys()], loans);
  const before = await runQualityJob(ws.store, settings, new Date('2026-11-02T12:00:00Z'));

  advanceBank(ws.bank, { days: 30 });
  const second = await ws.extract();
  const manifest = JSON.parse(Buffer.from(await ws.store.get(s3Uri('landing', second.loan_outcomes))).toString());
  const part = ws.store.pathOf(s3Uri('landing', manifest.parts[0].key));
  writeFileSync(part, Buffer.concat([readFileSync(part), Buffer.from('x')]));
  const after = await runQualityJob(ws.store, settings, new Date('2026-12-02T12:00:00Z'));
  expect(after.problems).toEqual([
    `outcomes extract ${second.loan_outcomes} not merged: part ${manifest.parts[0].key} does not match its checksum in the manifest`,
  ]);
  expect(after.report.cohorts[0].labelled).toBe(before.report.cohorts[0].labelled);
  expect(after.metrics).toContainEqual({ name: 'OutcomeProblems', value: 1, dimensions: {} });
  expect(before.metrics).toContainEqual({ name: 'OutcomeProblems', value: 0, dimensions: {} });
});

/** The outcomes dataset's config changed by `change`. */
const outcomesChanged =
  (change: (d: Datasets[number]) => Datasets[number]) =>
  (datasets: Datasets): Datasets =>
    datasets.map((d) => (d.name === 'loan_outcomes' ? change(d) : d));

test('what keeps outcomes from counting is named first and counted: none landed, other domains, keys, labels', async () => {
  // Nothing landed yet.
  const empty = workspace();
  const none = await runQualityJob(empty.store, settings, new Date('2026-11-02T12:00:00Z'));
  expect(none.problems).toEqual([
    "no outcomes extract under landing/loan_outcomes/ yet: realised quality waits for the agent's loan_outcomes",
  ]);
  expect(none.metrics).toContainEqual({ name: 'OutcomeProblems', value: 1, dimensions: {} });

  // The agent stops linking the key: its increment's pseudonyms cannot join the table's, so it is refused.
  const ws = workspace();
  const first = await ws.extract();
  const loans = await loansExtractLabels(ws.store, first.loans);
  await captureScores(ws.capturePrefix, [...loans.keys()], loans);
  const linked = await runQualityJob(ws.store, settings, new Date('2026-11-02T12:00:00Z'));
  advanceBank(ws.bank, { days: 30 });
  ws.reconfigure(outcomesChanged((d) => ({ ...d, columns: { ...d.columns, loan_id: { policy: 'hmac' as const } } })));
  const second = await ws.extract();
  const unlinked = await runQualityJob(ws.store, settings, new Date('2026-12-02T12:00:00Z'));
  expect(unlinked.problems[0]).toMatch(
    new RegExp(
      `^outcomes extract ${second.loan_outcomes} not merged: run \\S+ pseudonymises its columns in other domains ` +
        'than the curated loan_outcomes table of key id example-2026-11 \\(loan_id → column:loan_outcomes/loan_id, ' +
        'the table loan_id → link:loan\\)',
    ),
  );
  expect(unlinked.report.cohorts[0].labelled).toBe(linked.report.cohorts[0].labelled);

  // The training table under another key id than the outcomes': nothing joins, said so.
  await ws.store.put(s3Uri('curated', curated.currentTableKey('loans')), JSON.stringify({ kid: 'bank-2027-01' }));
  const rekeyed = await runQualityJob(ws.store, settings, new Date('2026-12-02T12:00:00Z'));
  expect(rekeyed.problems).toContainEqual(
    expect.stringContaining(
      'the loan_outcomes table is pseudonymised under key id example-2026-11, the loans table under bank-2027-01',
    ),
  );
  expect(rekeyed.report.cohorts[0].labelled).toBe(0);
});

test('outcomes whose key is not linked to the training table’s are named, not silently unlabelled', async () => {
  const ws = workspace(
    outcomesChanged((d) => ({ ...d, columns: { ...d.columns, loan_id: { policy: 'hmac' as const } } })),
  );
  const first = await ws.extract();
  // The loans extract merged into the training table, as Prepare merges it.
  const tables = new CuratedTables(ws.store, {
    dataset: 'loans',
    keyColumn: 'loan_id',
    buckets: { ...buckets, models: '' },
  });
  await withEngine(async (engine) =>
    tables.merge(engine, await loadManifest(ws.store, s3Uri(buckets.landing, first.loans)), first.loans),
  );
  const loans = await loansExtractLabels(ws.store, first.loans);
  await captureScores(ws.capturePrefix, [...loans.keys()], loans);
  const run = await runQualityJob(ws.store, settings, new Date('2026-11-02T12:00:00Z'));
  expect(run.problems).toEqual([
    'the loan_outcomes table pseudonymises loan_id as column:loan_outcomes/loan_id, the loans table its key as ' +
      'link:loan (declare one linkAs on both keys, under a new key id): their keys do not join, no outcomes read',
  ]);
  expect(run.metrics).toContainEqual({ name: 'OutcomeProblems', value: 1, dimensions: {} });
});

test('an outcomes extract without its label is refused before it makes a table; labels not 0 or 1 are counted', async () => {
  const unlabelled = workspace(
    outcomesChanged((d) => ({
      ...d,
      columns: { ...d.columns, defaulted_12m: { policy: 'drop' as const } },
      tests: [],
    })),
  );
  const first = await unlabelled.extract();
  const refused = await runQualityJob(unlabelled.store, settings, new Date('2026-11-02T12:00:00Z'));
  expect(refused.problems).toEqual([
    expect.stringMatching(
      new RegExp(
        `^outcomes extract ${first.loan_outcomes} not merged: run \\S+ is no outcomes extract: defaulted_12m is missing$`,
      ),
    ),
  ]);
  expect(await unlabelled.store.exists(s3Uri('curated', curated.currentTableKey('loan_outcomes')))).toBe(false);

  const odd = workspace(outcomesChanged((d) => ({ ...d, tests: [] })));
  const db = new Database(odd.bank);
  const changed = db
    .prepare(
      'UPDATE loan_outcomes SET defaulted = 2 WHERE loan_id IN (SELECT loan_id FROM loan_outcomes_known LIMIT 3)',
    )
    .run().changes;
  db.close();
  expect(changed).toBe(3);
  const landed = await odd.extract();
  const loans = await loansExtractLabels(odd.store, landed.loans);
  await captureScores(odd.capturePrefix, [...loans.keys()], loans);
  const counted = await runQualityJob(odd.store, settings, new Date('2026-11-02T12:00:00Z'));
  expect(counted.problems).toEqual(['3 outcome(s) of defaulted_12m are neither 0 nor 1: left out']);
});

test('a side-table reader given keys reads only their rows, each at the version the whole table has', async () => {
  const ws = workspace();
  await ws.extract();
  advanceBank(ws.bank, { days: 30 });
  await ws.extract(); // a second version of the loans whose outcome changed
  const table: SideTable = {
    dataset: 'loan_outcomes',
    keyColumn: 'loan_id',
    trainingDataset: 'loans',
    buckets,
    mergeLanded: true,
    kind: 'outcomes',
    awaitedBy: 'this test',
    check: () => undefined,
  };
  const problems: string[] = [];
  const whole = (await readSideTable(ws.store, table, ['defaulted_12m'], problems))!;
  const picked = whole.filter((_, i) => i % 31 === 0).map((r) => String(r.k));
  expect(picked.length).toBeGreaterThan(10);
  const keys = [...picked, 'no-such-key', "a 'quoted' key"];
  const some = (await readSideTable(ws.store, table, ['defaulted_12m'], problems, { keys }))!;
  const byKey = (rows: readonly SideRow[]) => [...rows].sort((a, b) => String(a.k).localeCompare(String(b.k)));
  expect(byKey(some)).toEqual(byKey(whole.filter((r) => picked.includes(String(r.k)))));
  // With a condition too, and with no keys at all.
  const known = await readSideTable(ws.store, table, ['defaulted_12m'], problems, {
    where: '"defaulted_12m" IS NOT NULL',
    keys,
  });
  expect(byKey(known!)).toEqual(byKey(some.filter((r) => r.defaulted_12m !== null)));
  expect(await readSideTable(ws.store, table, ['defaulted_12m'], problems, { keys: [] })).toEqual([]);
  expect(problems).toEqual([]);
});
