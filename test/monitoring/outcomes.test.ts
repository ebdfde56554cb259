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
import { curated, landing, s3Uri } from '../../contracts/s3-layout';
import { CAPTURE_FORMAT, captureSink } from '../../lambdas/monitoring/capture';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { type AgentConfig, loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { advanceBank } from '../../onprem-agent/seed/advance-bank';
import { readBankClock, seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { quoteText, withEngine } from '../../stepfunctions/curated/duckdb-engine';
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

/** A bank, the agent over it (both datasets, landing in the store's landing bucket) and the store. */
function workspace() {
  const home = mkdtempSync(join(tmpdir(), 'mlp-outcomes-'));
  const bank = join(home, 'bank.db');
  seedBank(bank, { customers: 3000, seed: 11 });
  const store = new LocalArtifactStore(join(home, 's3'));
  const landingRoot = join(home, 's3', buckets.landing);
  const config: AgentConfig = {
    ...example,
    source: { type: 'sqlite', path: bank },
    sink: { type: 'filesystem', root: landingRoot },
    stateDir: join(home, 'agent-state'),
    // No quasi-identifier: every loan reaches its extract, so every scored loan can find its outcome.
    datasets: example.datasets.map((d) => ({ ...d, quasiIdentifiers: [] })),
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
  return { home, bank, store, extract, capturePrefix: join(home, 's3', 'cap', 'loans') };
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
  expect(landing.isManifestKey(second.loan_outcomes, 'loan_outcomes')).toBe(true);
});
