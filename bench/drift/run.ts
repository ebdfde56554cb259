/**
 * `npm run bench:drift`: binning + PSI of 100k records × 30 features (24 numeric, 6 categorical; 3% missing,
 * a shift in a third of them) against a baseline of another 100k, on one core, side by side with numpy on the
 * very same matrix (bench/drift/numpy_side.py, one thread). Both sides' PSIs must agree. Also measures the
 * scorer's hot-path cost: Vectorizer.fill with the raw row plus DriftCounter.addRows, minus fill alone, per
 * record. Best of BENCH_DRIFT_REPEATS (default 15) runs each. The last line is one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SPEC_FORMAT, type FeatureSpec } from '../../lambdas/features/feature-spec';
import { Vectorizer } from '../../lambdas/features/vectorizer';
import {
  categoricalBins,
  DRIFT_BASELINE_FORMAT,
  type DriftBaseline,
  numericBins,
  parseDriftBaseline,
  referenceCounts,
} from '../../lambdas/monitoring/drift-baseline';
import { DriftCounter, mergeCounts } from '../../lambdas/monitoring/drift-counts';
import { driftReport, PSI_EPSILON } from '../../lambdas/monitoring/drift-report';
import { SYSTEM_PYTHON } from '../../local/local-training';

const ROWS = 100_000;
const NUMERIC = 24;
const CATEGORICAL = 6;
const CATEGORIES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const REPEATS = Number(process.env.BENCH_DRIFT_REPEATS ?? 15);

/** mulberry32: a small seeded generator, so both runs of the benchmark see the same data. */
function generator(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const spec: FeatureSpec = {
  format: FEATURE_SPEC_FORMAT,
  features: [
    ...Array.from({ length: NUMERIC }, (_, i) => ({ name: `n${i}`, type: 'numeric' as const })),
    ...Array.from({ length: CATEGORICAL }, (_, i) => ({
      name: `c${i}`,
      type: 'categorical' as const,
      encoding: 'one-hot' as const,
      categories: CATEGORIES,
    })),
  ],
};

/** Records of the benchmark: `shift` moves every third numeric feature and skews every third categorical one. */
function records(seed: number, shift: number): Record<string, number | string | null>[] {
  const random = generator(seed);
  return Array.from({ length: ROWS }, () => {
    const record: Record<string, number | string | null> = {};
    for (let i = 0; i < NUMERIC; i++) {
      const v = i % 2 ? Math.exp(random.normal()) * 1000 : random.normal();
      record[`n${i}`] = random.uniform() < 0.03 ? null : v + (i % 3 === 0 ? shift * (i % 2 ? 1000 : 1) : 0);
    }
    for (let i = 0; i < CATEGORICAL; i++) {
      const skew = i % 3 === 0 ? shift : 0;
      const u = Math.min(0.999999, random.uniform() ** (1 + skew));
      record[`c${i}`] =
        random.uniform() < 0.03 ? null : random.uniform() < 0.01 ? 'unseen' : CATEGORIES[Math.floor(u * 8)];
    }
    return record;
  });
}

/** The Vectorizer's raw rows of `rows` (what the scorer's hot path counts). */
function rawRows(vectorizer: Vectorizer, rows: readonly object[]) {
  const width = spec.features.length;
  const vectors = new Float32Array(rows.length * vectorizer.width);
  const raw = new Float64Array(rows.length * width);
  rows.forEach((r, i) => vectorizer.fill(r, i, vectors, i * vectorizer.width, raw, i * width));
  return raw;
}

function baselineOf(raw: Float64Array): DriftBaseline {
  const width = spec.features.length;
  const column = (j: number) => Float64Array.from({ length: ROWS }, (_, r) => raw[r * width + j]);
  return parseDriftBaseline({
    format: DRIFT_BASELINE_FORMAT,
    rows: ROWS,
    modelVersion: 'bench/1',
    features: spec.features.map((feature, j) => {
      const values = column(j);
      if (feature.type === 'numeric') return { name: feature.name, type: 'numeric', ...numericBins(values) };
      const counts: Record<string, number> = {};
      let missing = 0;
      for (const v of values) {
        if (Number.isNaN(v)) missing++;
        else if (v >= 0) counts[CATEGORIES[v]] = (counts[CATEGORIES[v]] ?? 0) + 1;
      }
      return { name: feature.name, type: 'categorical', ...categoricalBins(counts, 5), missing };
    }),
  });
}

function best(run: () => void): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REPEATS; i++) {
    const started = process.hrtime.bigint();
    run();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return fastest;
}

function main() {
  const vectorizer = new Vectorizer(spec);
  const baseline = baselineOf(rawRows(vectorizer, records(1, 0)));
  const windowRecords = records(2, 0.5);
  const window = rawRows(vectorizer, windowRecords);
  const options = { psiThreshold: 0.2, minRecords: 1000 };

  let report = driftReport(baseline, mergeCounts('bench/1', []), options);
  const counter = new DriftCounter(spec, baseline, 'bench/1');
  const oursMs = best(() => {
    counter.addRows(window, ROWS);
    report = driftReport(baseline, mergeCounts('bench/1', [counter.take()]), options);
  });

  // The hot path: what counting adds to the scorer's own work on the same records.
  const vectors = new Float32Array(ROWS * vectorizer.width);
  const raw = new Float64Array(ROWS * spec.features.length);
  const fillMs = best(() => {
    for (let i = 0; i < ROWS; i++) vectorizer.fill(windowRecords[i], i, vectors, i * vectorizer.width);
  });
  const fillAndCountMs = best(() => {
    const stride = spec.features.length;
    for (let i = 0; i < ROWS; i++) vectorizer.fill(windowRecords[i], i, vectors, i * vectorizer.width, raw, i * stride);
    counter.addRows(raw, ROWS);
    counter.take();
  });

  // numpy on the same matrix and bins.
  const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-drift-'));
  let numpy: { best_ms: number; psi: number[]; numpy: string };
  try {
    writeFileSync(join(dir, 'window.f64'), new Uint8Array(window.buffer));
    const layout = {
      epsilon: PSI_EPSILON,
      features: spec.features.map((feature, j) => {
        const reference = referenceCounts(baseline.features[j]);
        const b = baseline.features[j];
        if (b.type === 'numeric') return { edges: b.edges, reference };
        const binOf = new Map(b.categories.map((c, i) => [c, i]));
        if (feature.type !== 'categorical') throw new Error('spec and baseline disagree');
        return { binOfCategory: feature.categories.map((c) => binOf.get(c) ?? b.categories.length), reference };
      }),
    };
    writeFileSync(join(dir, 'layout.json'), JSON.stringify(layout));
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const out = execFileSync(SYSTEM_PYTHON, [join(__dirname, 'numpy_side.py'), dir, String(REPEATS)], {
      encoding: 'utf8',
      env,
    });
    numpy = JSON.parse(out) as typeof numpy;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const disagreement = Math.max(...report.features.map((f, j) => Math.abs((f.psi ?? Number.NaN) - numpy.psi[j])));
  if (!(disagreement < 1e-9)) throw new Error(`the two sides' PSIs differ by ${disagreement}`);

  const round = (v: number, digits = 3) => Number(v.toFixed(digits));
  const result = {
    ms_per_100k: round(oursMs),
    numpy_ms_per_100k: round(numpy.best_ms),
    ratio_vs_numpy: round(numpy.best_ms / oursMs, 2),
    hot_path_us_per_record: round(((fillAndCountMs - fillMs) * 1000) / ROWS, 4),
    fill_us_per_record: round((fillMs * 1000) / ROWS, 4),
    features: spec.features.length,
    records: ROWS,
    drifted: report.drifted.length,
    max_psi_difference_vs_numpy: disagreement,
    repeats: REPEATS,
    node: process.version,
    numpy: numpy.numpy,
  };
  console.log(
    `binning + PSI, 100k × ${spec.features.length}: ours ${result.ms_per_100k} ms, numpy ${result.numpy_ms_per_100k} ms (${result.ratio_vs_numpy}x)`,
  );
  console.log(
    `scorer hot path: counting adds ${result.hot_path_us_per_record} µs per record (the Vectorizer alone: ${result.fill_us_per_record} µs)`,
  );
  console.log(JSON.stringify(result));
}

main();
