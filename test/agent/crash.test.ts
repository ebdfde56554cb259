/**
 * Crash test: the standalone agent is killed with SIGKILL at 50 random moments across several runs (the
 * source changes between some of them), then run to completion. The store must end with exactly one complete
 * manifest per run, every part present and intact, no row version missing and none delivered twice.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { buildAgent } from '../../onprem-agent/build';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';

const KILLS = 50;

test(`${KILLS} SIGKILLs leave exactly-once, complete extracts`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-crash-'));
  const bundle = await buildAgent(join(dir, 'agent'));
  const db = join(dir, 'bank.db');
  seedBank(db, { customers: 5000, seed: 5 });
  const example = parseYaml(
    readFileSync(resolve(__dirname, '..', '..', 'onprem-agent', 'examples', 'synthetic-bank.yaml'), 'utf8'),
  );
  const dataset = { ...example.datasets[0], quasiIdentifiers: [], partRows: 60 };
  const configPath = join(dir, 'agent.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...example,
      source: { type: 'sqlite', path: db },
      sink: { type: 'filesystem', root: join(dir, 'store') },
      stateDir: join(dir, 'state'),
      datasets: [dataset],
    }),
  );
  // The bundle loads its native drivers from node_modules, as it does next to its package.json on a server.
  const env = {
    ...process.env,
    MLP_PSEUDONYM_KEY: 'crash-test-key-0123456789abcdef0123456789',
    NODE_PATH: resolve(__dirname, '..', '..', 'node_modules'),
  };
  let seed = 99;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;

  let killed = 0;
  let completed = 0;
  let version = 0;
  for (let i = 0; killed < KILLS && i < 4 * KILLS; i++) {
    if (i % 7 === 6) {
      // New row versions arrive: a later run must deliver each exactly once.
      const writable = new Database(db);
      version++;
      const stamp = `2026-11-0${1 + (version % 9)}T0${version % 10}:00:00Z`;
      writable
        .prepare(
          `UPDATE loans SET updated_at = ? WHERE loan_id IN (SELECT loan_id FROM loans ORDER BY random() LIMIT 40)`,
        )
        .run(stamp);
      writable.close();
    }
    const child = spawn(process.execPath, [bundle, 'run', '--config', configPath], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const delay = 20 + Math.floor(random() * 700);
    const outcome = await new Promise<{ code: number | null; signal: string | null }>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        done({ code, signal });
      });
    });
    if (outcome.signal === 'SIGKILL') {
      killed++;
    } else {
      // A clean run writes only its progress (JSON lines) to stderr: no error, no warning.
      const others = stderr
        .split('\n')
        .filter((line) => line && !('progress' in (JSON.parse(line) as Record<string, unknown>)));
      expect({ iteration: i, code: outcome.code, others }).toEqual({ iteration: i, code: 0, others: [] });
      completed++;
    }
  }
  for (let i = 0; i < 2; i++) {
    const final = spawnSync(process.execPath, [bundle, 'run', '--config', configPath], { env, encoding: 'utf8' });
    expect(final.status).toBe(0);
  }
  expect(killed).toBe(KILLS);

  const store = new FilesystemStore(join(dir, 'store'));
  const keys = await store.list('landing/loans/');
  const runs = new Map<string, string[]>();
  for (const key of keys) {
    const run = key.split('/')[2];
    runs.set(run, [...(runs.get(run) ?? []), key]);
  }
  const delivered = new Map<string, number>();
  let abandoned = 0;
  for (const [run, files] of runs) {
    const manifests = files.filter((k) => k.endsWith('_manifest.json'));
    // A run the source outgrew while it was down is abandoned: parts without a manifest, never read.
    if (manifests.length === 0) {
      abandoned++;
      continue;
    }
    expect({ run, manifests: manifests.length }).toEqual({ run, manifests: 1 });
    const manifest = JSON.parse(Buffer.from(await store.get(manifests[0])).toString());
    expect(files.filter((k) => !k.endsWith('_manifest.json')).sort()).toEqual(
      manifest.parts.map((p: { key: string }) => p.key).sort(),
    );
    let rows = 0;
    for (const part of manifest.parts) {
      const body = Buffer.from(await store.get(part.key));
      expect(createHash('sha256').update(body).digest('hex')).toBe(part.sha256);
      const lines = gunzipSync(body).toString('utf8').trimEnd().split('\n');
      const header = lines[0].split(',');
      const at = { id: header.indexOf('loan_id'), wm: header.indexOf('updated_at') };
      for (const line of lines.slice(1)) {
        const fields = line.split(',');
        const version = `${fields[at.id]}@${fields[at.wm]}`;
        delivered.set(version, (delivered.get(version) ?? 0) + 1);
        rows++;
      }
    }
    expect(rows).toBe(manifest.totalRows);
  }
  expect([...delivered.values()].every((n) => n === 1)).toBe(true);
  // Every current row version of the source was delivered.
  const source = new Database(db, { readonly: true });
  const current = source.prepare('SELECT COUNT(*) n FROM loans').get() as { n: number };
  source.close();
  const latest = new Map<string, string>();
  for (const version of delivered.keys()) {
    const [id, wm] = version.split('@');
    if (!latest.has(id) || latest.get(id)! < wm) latest.set(id, wm);
  }
  expect(latest.size).toBe(current.n);
  expect(abandoned).toBeLessThan(runs.size);
  console.log(
    `crash test: ${killed} kills, ${completed} clean exits, ${runs.size} runs (${abandoned} abandoned), ${delivered.size} row versions`,
  );
}, 600_000);
