/**
 * `GET /metrics` of the local scoring service (a real HTTP server, prom-client's exposition format): requests by
 * status, latency, records, and PSI per feature of the records scored this hour against the served version's
 * baseline, only once the window holds the minimum count; the Grafana dashboard queries only metrics it serves.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRIFT_BASELINE_FORMAT, numericBins } from '../../lambdas/monitoring/drift-baseline';
import { loadScoringModel } from '../../lambdas/scorer/scoring-model';
import { startLocalScorer } from '../../local/scoring-server';
import { ROOT } from '../support/cli';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const binary = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
const names = binary.rows[0].map((_, j) => `f${j}`);
const records = binary.rows.map((row) => Object.fromEntries(row.map((v, j) => [names[j], v])));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlp-metrics-'));
  const column = (j: number) => binary.rows.map((row) => row[j] ?? Number.NaN);
  writeFileSync(
    join(dir, 'baseline.json'),
    JSON.stringify({
      format: DRIFT_BASELINE_FORMAT,
      rows: binary.rows.length,
      modelVersion: 'loans/7',
      features: names.map((name, j) => ({ name, type: 'numeric', ...numericBins(column(j)) })),
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serving(minRecords: number) {
  const model = loadScoringModel({
    modelUri: binary.files.tar,
    modelVersion: 'loans/7',
    baselineUri: join(dir, 'baseline.json'),
  });
  return startLocalScorer(() => model, {
    port: 0,
    logFile: join(dir, `scorer-${minRecords}.log`),
    drift: { psiThreshold: 0.2, minRecords },
  });
}

/** The value of a sample line `name{labels} value`. */
function sample(text: string, line: RegExp): number | undefined {
  const match = text.split('\n').find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(' ').pop());
}

test('requests, latency, records and the window’s PSI per feature, in Prometheus’s format', async () => {
  const server = await serving(records.length);
  try {
    const post = (body: unknown) =>
      fetch(`${server.url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // The first half shifted on f0, then the rest as they were.
    const half = Math.floor(records.length / 2);
    const shifted = records.slice(0, half).map((r) => ({ ...r, f0: r.f0 === null ? null : (r.f0 as number) + 3 }));
    expect((await post({ records: shifted })).status).toBe(200);
    const before = await (await fetch(`${server.url}/metrics`)).text();
    expect(before).not.toMatch(/^mlp_scorer_feature_psi/m); // fewer than the minimum: nothing judged
    expect((await post({ records: records.slice(half) })).status).toBe(200);
    expect((await post({ rows: [] })).status).toBe(400);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sample(text, /^mlp_scorer_requests_total\{status="200"\}/)).toBe(2);
    expect(sample(text, /^mlp_scorer_requests_total\{status="400"\}/)).toBe(1);
    expect(sample(text, /^mlp_scorer_request_duration_seconds_count/)).toBe(3);
    expect(sample(text, /^mlp_scorer_records_total/)).toBe(records.length);
    expect(sample(text, /^mlp_scorer_window_records\{model_version="loans\/7"\}/)).toBe(records.length);
    const psi = (feature: string) =>
      sample(text, new RegExp(`^mlp_scorer_feature_psi\\{feature="${feature}",model_version="loans/7"\\}`));
    expect(psi('f0')).toBeGreaterThan(0.2);
    for (const name of names.slice(1)) expect(psi(name)).toBeLessThan(0.05);
    // The Grafana dashboard asks for nothing the server does not serve.
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'local', 'grafana', 'mlp-scorer.json'), 'utf8'));
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) for (const m of target.expr.matchAll(/\bmlp_[a-z_]+/g)) queried.add(m[0]);
    }
    expect(queried.size).toBeGreaterThan(3);
    for (const name of queried) expect({ name, served: text.includes(name) }).toEqual({ name, served: true });
  } finally {
    await server.close();
  }
});
