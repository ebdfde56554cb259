/**
 * `npm run bench:prepare`: the curated store at 1M and 10M row versions. The benchmark writes its own extracts
 * (gzip CSV parts and manifests in the agent's format, the dev training contract's columns): a first full
 * extract of 60% of the keys, then three increments, each 60% updates of existing keys and 40% new keys, a third
 * of the labels not yet known. It then merges the first three with the curated table and runs Prepare on the
 * last (merge, snapshot as of it, window and maturity, split, feature spec, baseline, channels), and, in another
 * process, DuckDB bare: reading the same parts and writing them to Parquet, then reading that and writing CSV.
 * Each side runs in its own process, so its peak RSS is its own. The last line is one JSON object.
 *
 * BENCH_PREPARE_ROWS: comma-separated row-version counts (default 1000000,10000000). MLP_DUCKDB_MEMORY_MB
 * bounds DuckDB on both sides (default 1024).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment } from '../../config';
import { type ExtractManifest, MANIFEST_FORMAT } from '../../contracts/extract-manifest';
import { landing, s3Uri } from '../../contracts/s3-layout';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { localSettings } from '../../local/local-home';
import { CuratedTables } from '../../stepfunctions/curated/curated-table';
import { engineLimits, quoteText, withEngine } from '../../stepfunctions/curated/duckdb-engine';
import { loadManifest } from '../../stepfunctions/extract-manifest';
import { prepareStep } from '../../stepfunctions/steps/prepare';
import type { ValidatedExtract } from '../../stepfunctions/steps/validate-manifest';

const settings = localSettings(loadEnvironment('dev'));
const PART_ROWS = 1_000_000;
const REGIONS = ['London', 'Scotland', 'Wales', 'North West', 'Yorkshire', 'East', 'South West', 'North East'];
const EMPLOYMENT = ['employed', 'self-employed', 'student', 'unemployed', 'retired'];
const PURPOSE = ['car', 'home-improvement', 'debt-consolidation', 'holiday', 'wedding', 'education', 'other'];

const columns = [
  settings.keyColumn,
  ...settings.numericFeatures,
  ...settings.categoricalFeatures,
  settings.trainingSet.window.column,
  'updated_at',
  settings.label,
];
const schema = Object.fromEntries(
  columns.map((c) => [
    c,
    settings.numericFeatures.includes(c) || c === settings.label
      ? 'number'
      : c === settings.keyColumn
        ? 'string'
        : 'string',
  ]),
);
const peakRssMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const pick = (values: readonly string[], expr: string) =>
  `[${values.map(quoteText).join(', ')}][1 + CAST(${expr} % ${values.length} AS BIGINT)]`;

/** The manifests' key ranges: a full extract of 60% of the keys, then three increments of updates and new keys. */
function plan(total: number) {
  const first = Math.round(total * 0.6);
  const increment = Math.round((total - first) / 3);
  const ranges = [{ updates: [0, 0], fresh: [0, first] }];
  let keys = first;
  for (let j = 0; j < 3; j++) {
    const updates = Math.round(increment * 0.6);
    const fresh = increment - updates;
    ranges.push({ updates: [j * updates, (j + 1) * updates], fresh: [keys, keys + fresh] });
    keys += fresh;
  }
  return ranges;
}

/** Child: writes the extracts of `total` row versions under `dir` (landing bucket) with DuckDB. */
async function generate(dir: string, total: number): Promise<void> {
  const store = new LocalArtifactStore(join(dir, 's3'));
  await withEngine(async (engine) => {
    let previousTo: { value: string; key: string } | null = null;
    for (const [m, range] of plan(total).entries()) {
      const runId = `2026${String(m + 7).padStart(2, '0')}01T000000Z-bench${m}`;
      const month = `2026-${String(m + 7).padStart(2, '0')}`;
      const key = 'md5(CAST(i AS VARCHAR))';
      const h = (salt: number) => `hash(i, ${m * 100 + salt})`;
      const u = (salt: number) => `(CAST(${h(salt)} % 1000000 AS DOUBLE) / 1000000)`;
      const select = [
        `${key} AS "${settings.keyColumn}"`,
        ...settings.numericFeatures.map((c, j) => `ROUND(${u(j)} * ${10 ** ((j % 4) + 1)}, 4) AS "${c}"`),
        `${pick(REGIONS, h(50))} AS "${settings.categoricalFeatures[0]}"`,
        `${pick(EMPLOYMENT, h(51))} AS "${settings.categoricalFeatures[1]}"`,
        `${pick(PURPOSE, h(52))} AS "${settings.categoricalFeatures[2]}"`,
        `strftime(DATE '2023-11-01' + INTERVAL (CAST(${h(53)} % 36 AS INTEGER)) MONTH, '%Y-%m') AS "${settings.trainingSet.window.column}"`,
        `'${month}-' || lpad(CAST(1 + ${h(54)} % 28 AS VARCHAR), 2, '0') || 'T12:00:00Z' AS updated_at`,
        `CASE WHEN ${h(55)} % 3 = 0 THEN NULL WHEN ${u(56)} < 0.2 + 0.5 * ${u(0)} THEN 1 ELSE 0 END AS "${settings.label}"`,
      ].join(', ');
      const rows = range.updates[1] - range.updates[0] + (range.fresh[1] - range.fresh[0]);
      const source =
        `SELECT ${select} FROM (SELECT range AS i FROM range(${range.updates[0]}, ${range.updates[1]}) ` +
        `UNION ALL SELECT range AS i FROM range(${range.fresh[0]}, ${range.fresh[1]})) AS keys`;
      await engine.run(`CREATE OR REPLACE TABLE extract AS ${source}`);
      const parts: ExtractManifest['parts'] = [];
      for (let offset = 0, index = 0; offset < rows; offset += PART_ROWS, index++) {
        const partKey = landing.partKey(settings.dataset, runId, index);
        const path = store.pathOf(s3Uri(settings.buckets.landing, partKey));
        mkdirSync(join(path, '..'), { recursive: true });
        await engine.run(
          `COPY (SELECT * FROM extract LIMIT ${PART_ROWS} OFFSET ${offset}) TO ${quoteText(path)} (FORMAT CSV, HEADER, COMPRESSION gzip)`,
        );
        const body = readFileSync(path);
        parts.push({
          key: partKey,
          rows: Math.min(PART_ROWS, rows - offset),
          bytes: statSync(path).size,
          sha256: createHash('sha256').update(body).digest('hex'),
        });
      }
      const manifest: ExtractManifest = {
        format: MANIFEST_FORMAT,
        dataset: settings.dataset,
        runId,
        createdAt: `${month}-28T00:00:00Z`,
        parts,
        totalRows: rows,
        suppressedRows: 0,
        schema,
        policySha256: 'bench',
        kid: 'bench-key',
        k: 5,
        quasiIdentifiers: [],
        watermark: {
          column: 'updated_at',
          // Each increment starts where the one before ended, as the agent's journal makes them.
          from: previousTo,
          to: { value: `${month}-28T12:00:00Z`, key: '' },
          upperBound: `${month}-28T23:00:00Z`,
        },
        agentVersion: 'bench',
      };
      await store.put(
        s3Uri(settings.buckets.landing, landing.manifestKey(settings.dataset, runId)),
        JSON.stringify(manifest),
      );
      previousTo = manifest.watermark.to as { value: string; key: string };
    }
  });
}

/** The manifests the generator wrote, in order. */
async function manifests(store: LocalArtifactStore) {
  const uris = (await store.list(s3Uri(settings.buckets.landing, landing.datasetPrefix(settings.dataset)))).filter(
    (uri) => uri.endsWith('/_manifest.json'),
  );
  return Promise.all(uris.map((uri) => loadManifest(store, uri)));
}

/** Child: merges all but the last manifest, then runs Prepare on the last; prints one JSON line. */
async function measure(dir: string): Promise<void> {
  const store = new LocalArtifactStore(join(dir, 's3'));
  const loaded = await manifests(store);
  const t0 = performance.now();
  const tables = new CuratedTables(store, settings);
  for (const manifest of loaded.slice(0, -1)) {
    await withEngine((engine) => tables.merge(engine, manifest, manifest.uri.replace(/^s3:\/\/[^/]+\//, '')));
  }
  const mergedSeconds = (performance.now() - t0) / 1000;
  const last = loaded.at(-1)!;
  const validation: ValidatedExtract = {
    dataset: settings.dataset,
    manifestUri: last.uri,
    manifestSha256: last.datasetVersion,
    runId: last.manifest.runId,
    totalRows: last.manifest.totalRows,
    parts: last.manifest.parts.length,
    columns,
    kid: last.manifest.kid,
    policySha256: last.manifest.policySha256,
    agentVersion: last.manifest.agentVersion,
    watermark: { column: 'updated_at', from: last.manifest.watermark.from, to: last.manifest.watermark.to },
    trigger: 'bench',
  };
  const prepared = await prepareStep({ store, settings })({ validation, executionName: 'bench' });
  const seconds = (performance.now() - t0) / 1000;
  const rowVersions = loaded.reduce((n, m) => n + m.manifest.totalRows, 0);
  console.log(
    JSON.stringify({
      row_versions: rowVersions,
      seconds,
      merge_seconds: mergedSeconds,
      prepare_last_seconds: seconds - mergedSeconds,
      training_rows: prepared.rows.train + prepared.rows.validation + prepared.rows.test,
      peak_rss_mb: Math.round(peakRssMb()),
    }),
  );
}

/** Child: DuckDB bare over the same parts: CSV to Parquet, Parquet to CSV. */
async function bare(dir: string): Promise<void> {
  const store = new LocalArtifactStore(join(dir, 's3'));
  const loaded = await manifests(store);
  const files = loaded.flatMap((m) =>
    m.manifest.parts.map((p) => store.pathOf(s3Uri(settings.buckets.landing, p.key))),
  );
  const out = join(dir, 'bare');
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  await withEngine(async (engine) => {
    await engine.run(
      `COPY (SELECT * FROM read_csv([${files.map(quoteText).join(', ')}], header = true)) TO ${quoteText(join(out, 'all.parquet'))} (FORMAT PARQUET)`,
    );
    await engine.run(
      `COPY (SELECT * FROM read_parquet(${quoteText(join(out, 'all.parquet'))})) TO ${quoteText(join(out, 'all.csv'))} (FORMAT CSV, HEADER false)`,
    );
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds, peak_rss_mb: Math.round(peakRssMb()) }));
}

function child(mode: string, dir: string, extra: string[] = []): Record<string, number> {
  const out = execFileSync(process.execPath, [...process.execArgv, __filename, mode, dir, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

async function main(): Promise<void> {
  const [mode, dir, arg] = process.argv.slice(2);
  if (mode === '--generate') return generate(dir, Number(arg));
  if (mode === '--measure') return measure(dir);
  if (mode === '--bare') return bare(dir);
  const sizes = (process.env.BENCH_PREPARE_ROWS ?? '1000000,10000000').split(',').map(Number);
  const results = [];
  for (const rows of sizes) {
    const work = mkdtempSync(join(tmpdir(), 'mlp-bench-prepare-'));
    try {
      console.error(`generating ${rows} row versions…`);
      execFileSync(process.execPath, [...process.execArgv, __filename, '--generate', work, String(rows)], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      console.error('merge + snapshot + split + channels…');
      const ours = child('--measure', work);
      console.error('DuckDB bare…');
      const anchor = child('--bare', work);
      const result = {
        row_versions: ours.row_versions,
        seconds: ours.seconds,
        merge_seconds: ours.merge_seconds,
        prepare_last_seconds: ours.prepare_last_seconds,
        bare_seconds: anchor.seconds,
        ratio_vs_bare: anchor.seconds / ours.seconds,
        rows_per_s: ours.row_versions / ours.seconds,
        training_rows: ours.training_rows,
        peak_rss_mb: ours.peak_rss_mb,
        bare_peak_rss_mb: anchor.peak_rss_mb,
      };
      console.error(
        `${result.row_versions} row versions: ${result.seconds.toFixed(1)} s (bare DuckDB ${result.bare_seconds.toFixed(1)} s, ` +
          `ratio ${result.ratio_vs_bare.toFixed(2)}), ${Math.round(result.rows_per_s)} rows/s, peak RSS ${result.peak_rss_mb} MB`,
      );
      results.push(result);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const largest = results.at(-1)!;
  writeFileSync(1, '');
  console.log(
    JSON.stringify({
      ratio_vs_bare: largest.ratio_vs_bare,
      peak_rss_mb_10m: largest.peak_rss_mb,
      rows_per_s_10m: largest.rows_per_s,
      duckdb_memory_limit_mb: engineLimits().memoryMb,
      runs: results,
      node: process.version,
    }),
  );
}

main().catch((error: Error) => {
  console.error(`bench:prepare failed: ${error.message}`);
  process.exit(1);
});
