/**
 * `npm run demo`, `mlp retrain`, `mlp models` and `mlp lineage` as a user runs them: the outcome printed and the
 * exit code come from what the execution did, and each local environment keeps its own registry and champion.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { figuresOf, pixelsOf, renderPage } from '../support/chromium';
import { errorOf, MLP, progressOf, runMlp } from '../support/cli';
import { ENVIRONMENTS } from '../../config';

jest.setTimeout(240_000);

// A fixed pseudonym key makes the split, and so the model and its gate decision, repeatable.
const KEY = 'demo-test-key-'.repeat(4);
const CUSTOMERS = '50000';
const inHome = (home: string, args: string[], env: Record<string, string> = {}) =>
  runMlp(args, { env: { MLP_HOME: home, MLP_PSEUDONYM_KEY: KEY, ...env } });
const demo = (home: string, ...args: string[]) => inHome(home, ['demo', '--customers', CUSTOMERS, ...args]);

const home = join(mkdtempSync(join(tmpdir(), 'mlp-demo-')), 'home');

test('the demo seeds, extracts, retrains, serves and scores, and can run again in its own home', () => {
  for (let run = 0; run < 2; run++) {
    const result = demo(home);
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      environment: 'dev',
      seeded: { customers: 50000 },
      retraining: { outcome: 'Promoted', modelVersion: 'mlp-dev-loans/1' },
      scored: {
        modelVersion: 'mlp-dev-loans/1',
        predictions: [expect.any(Number), expect.any(Number), expect.any(Number)],
      },
      artifacts: { registry: join(home, 'registry', 'dev.json') },
      // A month later: the increment is merged and the retrain trains on the grown training set.
      secondMonth: {
        advanced: { from: '2026-10-31', to: '2026-11-30' },
        retraining: { outcome: 'Promoted', modelVersion: 'mlp-dev-loans/2' },
      },
      // Then applications with lower incomes: drift captured, judged, alarmed, and the retraining it starts.
      drift: {
        shifted: 'annual_income × 0.6',
        modelVersion: 'mlp-dev-loans/2',
        drifted: ['annual_income'],
        alarm: { name: 'mlp-dev-drift-psi', state: 'ALARM', entered: true },
        retraining: { outcome: 'NotPromoted', modelVersion: 'mlp-dev-loans/3' },
      },
    });
    // Each decision came with up to three adverse reasons, codes from the environment's reason-code table.
    const codes = Object.values(ENVIRONMENTS.dev.retraining.explanations!.reasons).map((r) => r.code);
    expect(out.scored.reasons).toHaveLength(3);
    for (const reasons of out.scored.reasons) {
      expect(reasons.length).toBeLessThanOrEqual(3);
      for (const code of reasons) expect(codes).toContain(code);
    }
    expect(out.scored.reasons.flat().length).toBeGreaterThan(0);
    expect(out.drift.psi.annual_income).toBeGreaterThan(0.25);
    expect(out.drift.scorePsi).toBeLessThan(0.25);
    // Keys went with the requests: the outcomes the bank knows give a realised AUC beside the estimate.
    expect(out.drift.quality).toEqual([
      expect.objectContaining({
        estimatedAuc: expect.any(Number),
        realised: expect.objectContaining({ auc: expect.any(Number) }),
      }),
    ]);
    // The outcomes came as the agent's own dataset: every outcome the bank knew, then the month's matured ones;
    // the protected attributes as another, watermarked as the loans are.
    expect(out.extract.alongside).toEqual([
      expect.objectContaining({ dataset: 'loan_outcomes', rows: out.seeded.labelledLoans }),
      expect.objectContaining({ dataset: 'loan_attributes', rows: expect.any(Number) }),
    ]);
    expect(out.secondMonth.extract.alongside).toEqual([
      expect.objectContaining({ dataset: 'loan_outcomes', rows: out.secondMonth.advanced.matured }),
      expect.objectContaining({ dataset: 'loan_attributes', rows: expect.any(Number) }),
    ]);
    expect(existsSync(join(home, 'examples', 'loans-shifted.csv'))).toBe(true);
    expect(out.secondMonth.extract.rows).toBeLessThan(out.extract.rows / 4);
    expect(out.secondMonth.retraining.trainingRows).toBeGreaterThan(out.retraining.trainingRows);
    expect(Object.keys(out.timings)).toEqual([
      'seed',
      'agent',
      'retrain',
      'score',
      'advance',
      'agent (month 2)',
      'retrain (month 2)',
      'score (shifted)',
      'drift job',
      'retrain (drift)',
      'total',
    ]);
    // Every state reported as it ran, with the training rounds' validation AUC.
    const progress = progressOf(result);
    expect(progress.filter((p) => p.event === 'done').map((p) => p.progress)).toEqual(
      expect.arrayContaining(['seed a synthetic bank', 'extract and anonymise', 'Prepare', 'Train', 'FinishDeploy']),
    );
    expect(progress.find((p) => p.progress === 'Train' && p.event === 'update')).toMatchObject({
      round: expect.any(Number),
      'validation-auc': expect.any(Number),
    });
    expect(existsSync(join(home, 'examples', 'request.json'))).toBe(true);
    expect(existsSync(join(home, 'examples', 'loans.csv'))).toBe(true);
  }
});

test('retrain prints the real outcome and exits with it: not promoted 3, rejected 3, promoted 0, failed 1', () => {
  const again = inHome(home, ['retrain']);
  expect(again.status).toBe(3);
  expect(JSON.parse(again.stdout)).toMatchObject({
    outcome: 'NotPromoted',
    environment: 'dev',
    modelVersion: 'mlp-dev-loans/4',
    reasons: [expect.stringContaining('already trained on this dataset version')],
    champion: 'mlp-dev-loans/2',
  });
  expect(again.stderr).not.toMatch(/"level":"ERROR"/); // the outcome is the message; no second one

  const unanswered = inHome(home, ['retrain', '--local', 'prod']);
  expect(unanswered.status).toBe(3);
  expect(JSON.parse(unanswered.stdout)).toMatchObject({
    outcome: 'Rejected',
    modelVersion: 'mlp-prod-loans/1',
    reason: expect.stringContaining('no approver was given'),
    champion: null,
  });
  // Who declined is the account that ran the command; the name typed is kept in the reason.
  const account = userInfo().username;
  const declined = inHome(home, ['retrain', '--local', 'prod', '--reject-as', 'alice', '--reason', 'too new']);
  expect(JSON.parse(declined.stdout)).toMatchObject({
    outcome: 'Rejected',
    approver: account,
    reason: 'rejected as alice: too new',
  });

  // The gate passed these (Approve is reached only then): a named approval promotes the candidate.
  const approved = inHome(home, ['retrain', '--local', 'prod', '--approve-as', 'jane.obrien@bank.example', '--json']);
  expect(approved.status).toBe(0);
  expect(JSON.parse(approved.stdout)).toMatchObject({
    outcome: 'Promoted',
    modelVersion: 'mlp-prod-loans/3',
    approver: account,
    champion: 'mlp-prod-loans/3',
  });

  // Every decision is in prod's approval trail, by who made it, and the chain verifies.
  const audit = inHome(home, ['audit', '--local', 'prod', '--json']);
  expect(audit.status).toBe(0);
  const trail = JSON.parse(audit.stdout);
  // Each version's story ended with its card, which anchored the version's last entry in the registry.
  expect(trail).toMatchObject({ environment: 'prod', verified: true, problems: [], anchors: 3 });
  const events = trail.trail.map(
    (e: { modelVersion: string; event: string; principal: { kind: string; id: string } }) =>
      [e.modelVersion, e.event, `${e.principal.kind}:${e.principal.id}`].join(' '),
  );
  expect(events).toEqual([
    'mlp-prod-loans/1 gate-passed state-machine:mlp-prod-retraining',
    'mlp-prod-loans/1 approval-requested state-machine:mlp-prod-retraining',
    'mlp-prod-loans/1 rejected state-machine:mlp-prod-retraining',
    'mlp-prod-loans/2 gate-passed state-machine:mlp-prod-retraining',
    'mlp-prod-loans/2 approval-requested state-machine:mlp-prod-retraining',
    `mlp-prod-loans/2 rejected os-user:${account}`,
    'mlp-prod-loans/3 gate-passed state-machine:mlp-prod-retraining',
    'mlp-prod-loans/3 approval-requested state-machine:mlp-prod-retraining',
    `mlp-prod-loans/3 approved os-user:${account}`,
    'mlp-prod-loans/3 deployed state-machine:mlp-prod-retraining',
  ]);
  expect(trail.trail[5].reason).toBe('rejected as alice: too new');
  // An entry rewritten after the fact (here: who approved) is named, and audit fails.
  const entry = join(home, 's3', 'mlp-local-prod-audit', 'approvals', 'prod', '0000000009.json');
  chmodSync(entry, 0o644);
  const original = readFileSync(entry, 'utf8');
  writeFileSync(entry, original.replace(`"id": "${account}"`, '"id": "somebody-else"'));
  const tampered = inHome(home, ['audit', '--local', 'prod', '--json']);
  expect(tampered.status).toBe(1);
  expect(JSON.parse(tampered.stdout)).toMatchObject({
    verified: false,
    problems: ['entry 9 was changed after it was written'],
  });
  writeFileSync(entry, original);
  expect(inHome(home, ['audit', '--local', 'prod']).status).toBe(0);
  // The last two entries cut off: the chain that is left verifies, but not against the registry's anchors, and
  // no card is re-anchored onto it.
  const trailDir = dirname(entry);
  const aside = mkdtempSync(join(home, 'trail-tail-'));
  for (const name of ['0000000009.json', '0000000010.json']) renameSync(join(trailDir, name), join(aside, name));
  const cut = inHome(home, ['audit', '--local', 'prod', '--json']);
  expect(cut.status).toBe(1);
  expect(JSON.parse(cut.stdout)).toMatchObject({
    verified: false,
    entries: 8,
    problems: [
      'the registry anchors mlp-prod-loans/3 at entry 10, but the trail ends at entry 8: entries were cut off its end',
    ],
  });
  const reanchor = inHome(home, ['card', 'mlp-prod-loans/3', '--local', 'prod', '--out', aside]);
  expect(reanchor.status).toBe(1);
  expect(errorOf(reanchor).message).toContain(
    'the approval trail no longer holds entry 10 that the registry anchored for mlp-prod-loans/3: run mlp audit',
  );
  for (const name of ['0000000009.json', '0000000010.json']) renameSync(join(aside, name), join(trailDir, name));
  expect(inHome(home, ['audit', '--local', 'prod']).status).toBe(0);

  const failed = inHome(home, ['retrain', '--manifest', 'landing/loans/no-such-run/_manifest.json']);
  expect(failed.status).toBe(1);
  expect(JSON.parse(failed.stdout)).toMatchObject({
    outcome: 'Failed',
    error: 'ManifestInvalid',
    champion: 'mlp-dev-loans/2',
  });
});

test('models and lineage show each local environment on its own', () => {
  const dev = JSON.parse(inHome(home, ['models', '--json']).stdout);
  expect(dev).toMatchObject({ environment: 'dev', location: 'local', champion: 'mlp-dev-loans/2' });
  expect(dev.versions.map((v: { modelVersion: string; status: string }) => [v.modelVersion, v.status])).toEqual([
    ['mlp-dev-loans/1', 'Approved'],
    ['mlp-dev-loans/2', 'Approved'],
    ['mlp-dev-loans/3', 'Rejected'],
    ['mlp-dev-loans/4', 'Rejected'],
  ]);
  const prod = JSON.parse(inHome(home, ['models', '--local', 'prod', '--json']).stdout);
  expect(prod.versions.map((v: { modelVersion: string }) => v.modelVersion)).toEqual([
    'mlp-prod-loans/1',
    'mlp-prod-loans/2',
    'mlp-prod-loans/3',
  ]);
  expect(prod.versions[1]).toMatchObject({
    status: 'Rejected',
    decidedBy: userInfo().username,
    reasons: [`approval declined by ${userInfo().username}: rejected as alice: too new`],
  });

  const lineage = JSON.parse(inHome(home, ['lineage', 'mlp-dev-loans/1', '--json']).stdout);
  expect(lineage).toMatchObject({
    modelVersion: 'mlp-dev-loans/1',
    datasetVersion: expect.stringMatching(/^[0-9a-f]{64}$/),
    pseudonymKeyId: 'example-2026-11',
    extract: { manifestUri: expect.stringContaining('s3://mlp-local-landing/landing/loans/') },
    window: { column: 'originated_on', months: 36 },
    maturity: { labelKnown: true, minAgeMonths: 12 },
    manifests: [
      expect.objectContaining({ seq: 1, manifestKey: expect.stringMatching(/^landing\/loans\/.*_manifest\.json$/) }),
    ],
  });
  expect(lineage.rows.train + lineage.rows.validation + lineage.rows.test).toBeGreaterThan(1000);
  // The second month's model was trained on both manifests: the full extract and the increment.
  const second = JSON.parse(inHome(home, ['lineage', 'mlp-dev-loans/2', '--json']).stdout);
  expect(second.manifests.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
  expect(second.manifests[0].manifestKey).toBe(lineage.manifests[0].manifestKey);

  // The curated store as mlp dataset shows it, and the training set it exports.
  const shown = JSON.parse(inHome(home, ['dataset', 'show', 'loans', '--json']).stdout);
  expect(shown).toMatchObject({
    dataset: 'loans',
    kid: 'example-2026-11',
    asOf: { seq: 2 },
    datasetVersion: second.datasetVersion,
    prepared: true,
    rows: { trainingSet: second.rows.train + second.rows.validation + second.rows.test },
  });
  expect(shown.rows.snapshot).toBeGreaterThan(shown.rows.labelled);
  const first = JSON.parse(inHome(home, ['dataset', 'show', 'loans', '--as-of', '1', '--json']).stdout);
  expect(first.datasetVersion).toBe(lineage.datasetVersion);
  const listed = JSON.parse(inHome(home, ['dataset', 'list', '--json']).stdout);
  expect(listed.datasets).toEqual([expect.objectContaining({ kid: 'example-2026-11', current: true, manifests: 2 })]);
  const output = join(mkdtempSync(join(tmpdir(), 'mlp-export-')), 'features.parquet');
  const exported = JSON.parse(inHome(home, ['dataset', 'export', 'loans', '--output', output, '--json']).stdout);
  expect(exported).toMatchObject({ rows: shown.rows.trainingSet, datasetVersion: second.datasetVersion });
  expect(readFileSync(output).subarray(0, 4).toString()).toBe('PAR1');
  for (const [args, message] of [
    [['dataset', 'show', 'cards'], 'trains on dataset loans, not cards'],
    [['dataset', 'show', 'loans', '--as-of', '9'], 'the table holds manifests 1 to 2'],
    [['dataset', 'show', 'loans', '--as-of', '2020-01-01'], 'the first manifest is as of'],
    [['dataset', 'export', 'loans', '--output', join(tmpdir(), 'x.csv')], '--output must name a .parquet file'],
  ] as const) {
    const refused = inHome(home, [...args]);
    expect({ status: refused.status, message: errorOf(refused).message }).toEqual({
      status: 2,
      message: expect.stringContaining(message),
    });
  }
  const unknown = inHome(home, ['lineage', 'mlp-prod-loans/1']);
  expect(unknown.status).toBe(2);
  expect(errorOf(unknown).message).toContain('no model version mlp-prod-loans/1 in the local registry of dev');
});

test("mlp report writes the champion's report, which headless Chromium lays out with every chart's marks", () => {
  const out = join(mkdtempSync(join(tmpdir(), 'mlp-report-')), 'nested', 'mlp-dev-loans-2.html');
  const result = inHome(home, ['report', 'mlp-dev-loans/2', '--out', out, '--json']);
  expect(result.status).toBe(0);
  const data = JSON.parse(result.stdout);
  expect(data).toMatchObject({
    format: 'mlp.model-report/1',
    path: out,
    model: { version: 'mlp-dev-loans/2', status: 'Approved', lineage: { trigger: 'manifest' } },
    evaluation: { champion: { modelVersion: 'mlp-dev-loans/1' } },
    drift: { latest: { judged: true }, psiThreshold: 0.25 },
    missing: [],
  });
  // The drifted feature leads the latest window; every feature the model splits on is ranked by its splits.
  const latest = data.drift.latest.features as { name: string; psi: number; drifted: boolean }[];
  expect(latest.filter((f) => f.drifted).map((f) => f.name)).toEqual(['annual_income']);
  expect(data.importance.length).toBe(16);
  expect(data.importance[0].splits).toBeGreaterThanOrEqual(data.importance.at(-1).splits);
  expect(data.quality.cohorts[0]).toMatchObject({
    estimatedAuc: expect.any(Number),
    realised: { auc: expect.any(Number) },
  });

  const html = readFileSync(out, 'utf8');
  // Self-contained: no script, nothing fetched (the only URLs are SVG's namespaces), and a policy that forbids it.
  expect(html).not.toMatch(/<script|<img|<link|<iframe|@import|url\(/i);
  expect(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]+"/g, '')).not.toMatch(/https?:\/\//);
  expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);

  const page = renderPage(out, out.replace(/\.html$/, '.png'));
  expect(page.dom).toContain('Model report: mlp-dev-loans/2');
  // Each chart, as Chromium laid it out, draws one mark per datum of the report's data.
  const figures = figuresOf(page.dom);
  const marks = (id: string, kind: string) =>
    [
      ...(figures.get(id) ?? '').matchAll(
        /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="([^"]+)"/g,
      ),
    ]
      .filter((m) => m[2] === kind)
      .map((m) => m[1]);
  expect([...figures.keys()].sort()).toEqual(
    ['calibration', 'importance', 'psi', 'psi-history', 'quality', 'roc', 'score-histogram'].sort(),
  );
  expect(marks('roc', 'line mark').length).toBeGreaterThanOrEqual(1);
  const bins = data.evaluation.candidate.calibration.filter((b: { count: number }) => b.count > 0);
  expect(marks('calibration', 'circle')).toHaveLength(bins.length);
  expect(marks('score-histogram', 'bar')).toHaveLength(2 * (data.evaluation.scoreHistogram.edges.length - 1));
  const importance = marks('importance', 'bar');
  expect(importance).toHaveLength(data.importance.length);
  for (const { feature, splits } of data.importance)
    expect(importance).toContain(`Splits: ${splits}; feature: ${feature}`);
  const psi = marks('psi', 'bar');
  expect(psi).toHaveLength(latest.length + 1);
  expect(psi.filter((label) => label.endsWith('Drifted: true'))).toEqual([expect.stringContaining('annual_income')]);
  const judged = data.drift.history.filter((r: { judged: boolean }) => r.judged).length;
  expect(marks('psi-history', 'line mark')).toHaveLength(7);
  expect(marks('psi-history', 'point')).toHaveLength(7 * judged);
  type Cohort = { estimatedAuc: number | null; realised: object | null };
  const aucs = data.quality.cohorts.flatMap((c: Cohort) => [c.estimatedAuc, c.realised].filter((v) => v !== null));
  expect(marks('quality', 'point')).toHaveLength(aucs.length);
  // Painted: the charts' own colours cover real areas of the screenshot (blue curves and bars, the histogram's
  // negatives, the drifted feature's red bar, the estimated AUC's orange point).
  expect([page.screenshot.width, page.screenshot.height]).toEqual([1100, 4200]);
  expect(pixelsOf(page.screenshot, '#1f5fa8')).toBeGreaterThan(20_000);
  expect(pixelsOf(page.screenshot, '#9ab8d8')).toBeGreaterThan(5_000);
  expect(pixelsOf(page.screenshot, '#c0392b')).toBeGreaterThan(3_000);
  expect(pixelsOf(page.screenshot, '#e08e0b')).toBeGreaterThan(20);

  // A path it cannot write to is named with the reason, and leaves no partial file behind: a directory there
  // takes the written report's place only by rename, which fails after the partial file was written.
  const taken = join(dirname(out), 'taken.html');
  mkdirSync(join(taken, 'inside'), { recursive: true });
  const blocked = inHome(home, ['report', 'mlp-dev-loans/2', '--out', taken]);
  expect(blocked.status).toBe(1);
  expect(errorOf(blocked).message).toMatch(/^mlp: the report cannot be written to .*taken\.html: E(ISDIR|NOTEMPTY)/);
  expect(readdirSync(dirname(out)).sort()).toEqual(['mlp-dev-loans-2.html', 'mlp-dev-loans-2.png', 'taken.html']);
});

test('every version has the model card its pipeline wrote, recorded in the registry; mlp card rebuilds and writes it', () => {
  const account = userInfo().username;
  // Written at the end of each story: not promoted by the gate (dev 3, 4), declined (prod 1, 2), promoted.
  for (const env of ['dev', 'prod']) {
    const { versions } = JSON.parse(readFileSync(join(home, 'registry', `${env}.json`), 'utf8'));
    for (const v of versions as { modelVersion: string; metadata: Record<string, string> }[]) {
      const key = `loans/cards/${v.modelVersion.replace('/', '-')}`;
      expect(v.metadata).toMatchObject({
        modelCardUri: `s3://mlp-local-${env}-models/${key}.json`,
        modelCardHtmlUri: `s3://mlp-local-${env}-models/${key}.html`,
      });
      expect(existsSync(join(home, 's3', `mlp-local-${env}-models`, `${key}.html`))).toBe(true);
    }
  }
  const cardOf = (env: string, version: string) =>
    JSON.parse(readFileSync(join(home, 's3', `mlp-local-${env}-models`, 'loans', 'cards', `${version}.json`), 'utf8'));
  expect(cardOf('prod', 'mlp-prod-loans-2')).toMatchObject({
    format: 'mlp.model-card/1',
    model: { version: 'mlp-prod-loans/2', status: 'Rejected' },
    governance: {
      gate: { event: 'gate-passed' },
      approval: { event: 'rejected', principal: `os-user:${account}`, reason: 'rejected as alice: too new' },
    },
    // The fairness gate judged it on age band and sex, joined from the restricted attributes extract.
    fairness: {
      problems: [],
      attributes: [{ attribute: 'birth_date' }, { attribute: 'sex' }],
    },
    fairnessNote: null,
    missing: [],
  });
  expect(cardOf('dev', 'mlp-dev-loans-4')).toMatchObject({
    model: { status: 'Rejected' },
    governance: { gate: { event: 'gate-failed', reason: expect.stringContaining('already trained') }, approval: null },
  });

  const out = join(mkdtempSync(join(tmpdir(), 'mlp-card-')), 'cards');
  const result = inHome(home, ['card', 'mlp-prod-loans/3', '--local', 'prod', '--out', out, '--json']);
  expect(result.status).toBe(0);
  const written = JSON.parse(result.stdout);
  expect(written).toMatchObject({
    card: {
      model: { version: 'mlp-prod-loans/3', status: 'Approved' },
      data: { datasetVersion: expect.stringMatching(/^[0-9a-f]{64}$/), window: { column: 'originated_on' } },
      metrics: { aucInterval: { confidence: 0.95 } },
      governance: { approval: { event: 'approved', reason: 'approved as jane.obrien@bank.example' } },
    },
    stored: { json: 's3://mlp-local-prod-models/loans/cards/mlp-prod-loans-3.json' },
    files: { json: join(out, 'mlp-prod-loans-3.card.json'), html: join(out, 'mlp-prod-loans-3.card.html') },
  });
  expect(JSON.parse(readFileSync(written.files.json, 'utf8'))).toEqual(written.card);
  const page = renderPage(written.files.html, join(out, 'card.png'), 1100, 3000);
  expect(page.dom).toContain('Model card: mlp-prod-loans/3');
  expect(page.dom).toContain(`approved by <span class="principal">os-user:${account}</span>`);
  expect(page.dom).toContain(`<td class="num" id="auc">${written.card.metrics.auc.toFixed(4)}</td>`);
  // Its fairness section: every group of each attribute, with its rows, as the browser laid it out.
  expect(written.card.fairness.joined).toBe(written.card.fairness.rows);
  for (const a of written.card.fairness.attributes as { attribute: string; groups: { group: string }[] }[]) {
    expect(a.groups.length).toBeGreaterThanOrEqual(2);
    for (const g of a.groups) expect(page.dom).toContain(`<td>${g.group}</td>`);
  }

  const unknown = inHome(home, ['card', 'mlp-prod-loans/9', '--local', 'prod']);
  expect(unknown.status).toBe(2);
  expect(errorOf(unknown).message).toContain('no model version mlp-prod-loans/9 in the local registry of prod');
});

test('usage mistakes exit 2 before anything runs, and name the problem', () => {
  const cases: [string[], string][] = [
    [['retrain', '--approve-as', 'bob'], 'dev promotes without a human approval'],
    [['retrain', '--local', 'prod', '--reject-as', 'bob'], '--reject-as needs --reason TEXT'],
    [['retrain', '--local', 'prod', '--reason', 'x'], '--reason goes with --reject-as NAME'],
    [['retrain', '--local', 'prod', '--env', 'prod'], 'give --local [ENV] or --env ENV, not both'],
    [['retrain', '--env', 'prod', '--approve-as', 'bob'], 'a deployed execution always waits at Approve'],
    [['retrain', '--local', 'dev', '--wait-for-approval'], 'dev promotes without a human approval'],
    [['approve', 'mlp-dev-loans/1', '--reason', 'fine'], 'dev promotes without a human approval'],
    [['retrain', '--local', 'qa'], 'unknown environment "qa"'],
    [['models', '--local', 'qa'], 'unknown environment "qa"'],
  ];
  const before = readdirSync(home).sort();
  for (const [args, message] of cases) {
    const result = inHome(home, args);
    expect({ args, status: result.status }).toEqual({ args, status: 2 });
    expect(errorOf(result).message).toContain(message);
  }
  expect(readdirSync(home).sort()).toEqual(before);
});

test('the demo never clears a directory it did not make, and names the missing XGBoost set-up', () => {
  const foreign = mkdtempSync(join(tmpdir(), 'mlp-demo-foreign-'));
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  const refused = demo(foreign);
  expect(refused.status).toBe(2);
  expect(errorOf(refused)).toMatchObject({ message: expect.stringContaining('already holds other files') });
  expect(readdirSync(foreign)).toEqual(['notes.txt']);

  const fresh = join(foreign, 'new-home');
  mkdirSync(fresh);
  const noXgboost = inHome(fresh, ['demo', '--customers', CUSTOMERS], { MLP_PYTHON: join(foreign, 'no-such-python') });
  expect(noXgboost.status).toBe(2);
  expect(errorOf(noXgboost).message).toContain('sudo apt-get install -y --no-install-recommends python3-xgboost');
  expect(readdirSync(fresh)).toEqual([]);
});

test('a prod demo without an approver is Rejected: exit 3, nothing deployed, nothing scored', () => {
  const prodHome = join(mkdtempSync(join(tmpdir(), 'mlp-demo-prod-')), 'home');
  const result = demo(prodHome, '--local', 'prod');
  expect(result.status).toBe(3);
  expect(JSON.parse(result.stdout)).toMatchObject({
    environment: 'prod',
    retraining: { outcome: 'Rejected', reason: expect.stringContaining('no approver was given') },
    scored: null,
  });
  expect(existsSync(join(prodHome, 'serving', 'prod', 'live.json'))).toBe(false);
});

test('on a terminal the demo prints human lines only: no JSON, no Powertools or EMF line among them', () => {
  const ttyHome = join(mkdtempSync(join(tmpdir(), 'mlp-demo-tty-')), 'home');
  // script(1) (util-linux, on every Debian) runs the demo on a pseudo-terminal, as a user's shell would.
  const command = `MLP_HOME=${ttyHome} MLP_PSEUDONYM_KEY=${KEY} ${process.execPath} ${MLP} demo --customers ${CUSTOMERS}`;
  const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: process.env });
  expect(run.status).toBe(0);
  const text = run.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n'); // eslint-disable-line no-control-regex
  expect(text).toContain('Promoted: mlp-dev-loans/1 now serves');
  expect(text).toMatch(/✔ Train +[\d.]+ s {2}round \d+\/\d+, validation-auc 0\.\d{4}/);
  expect(text).toMatch(/P\(default\) 0\.\d{4}/);
  expect(text).not.toMatch(/^\s*\{/m);
  expect(text).not.toContain('_aws');
  expect(text).not.toContain('"level"');
});
