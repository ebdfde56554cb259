/**
 * The model card of a version: built from what the platform keeps (a registry record, Evaluate's document, the
 * feature spec, the drift baseline, the training set's lineage and the approval trail's entries, each made here
 * by the code that makes them in the pipeline), written beside the evaluation and recorded in the registry, and
 * rendered by headless Chromium with every value escaped.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENVIRONMENTS } from '../../config/environments';
import { models } from '../../contracts/s3-layout';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { localSettings } from '../../local/local-home';
import { LocalModelRegistry } from '../../local/local-model-registry';
import { DRIFT_BASELINE_FORMAT, numericBins } from '../../lambdas/monitoring/drift-baseline';
import { ApprovalTrail, stateMachinePrincipal } from '../../stepfunctions/governance/approval-trail';
import {
  hanleyMcNeilInterval,
  MODEL_CARD_FORMAT,
  type ModelCard,
  NO_FAIRNESS,
} from '../../stepfunctions/governance/model-card';
import { writeModelCard } from '../../stepfunctions/governance/model-card-writer';
import { binaryMetrics } from '../../stepfunctions/model-metrics';
import type { FairnessReport } from '../../contracts/fairness';
import { renderPage } from '../support/chromium';

jest.setTimeout(120_000);

const HOSTILE = '<script>document.title="owned"</script><img src=x onerror=alert(1)>';
const settings = localSettings({ name: 'prod', retraining: ENVIRONMENTS.prod.retraining });

/** A deterministic test split: labels and scores that separate them imperfectly. */
function split(n = 400) {
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 4 === 0 ? 1 : 0;
    labels.push(label);
    scores.push(Math.min(0.99, Math.max(0.01, 0.25 + (label ? 0.3 : 0) + (((i * 37) % 100) / 100 - 0.5) * 0.6)));
  }
  return { labels, scores };
}

/** A prod version through the pipeline's records: registered, gate passed, approved (hostile reason), deployed. */
async function version() {
  const root = mkdtempSync(join(tmpdir(), 'mlp-card-'));
  const store = new LocalArtifactStore(join(root, 's3'));
  const registry = new LocalModelRegistry(join(root, 'registry.json'));
  const trail = new ApprovalTrail(store, `s3://${settings.buckets.audit}/approvals/prod/`);
  const { labels, scores } = split();
  const candidate = binaryMetrics(labels, scores);
  const job = 'mlp-prod-loans-20261201-abc';
  const bucket = `s3://${settings.buckets.models}`;
  const evaluationUri = `${bucket}/${models.evaluationKey('loans', job)}`;
  const baselineUri = `${bucket}/${models.baselineKey('loans', job)}`;
  const featureSpecUri = `s3://${settings.buckets.curated}/loans/v1/feature-spec.json`;
  const trainingSetUri = `s3://${settings.buckets.curated}/loans/v1/training-set.json`;
  await store.put(
    evaluationUri,
    JSON.stringify({ evaluationUri, baselineUri, modelSha256: 'ab'.repeat(32), candidate, champion: null }),
  );
  await store.put(
    baselineUri,
    JSON.stringify({
      format: DRIFT_BASELINE_FORMAT,
      rows: 400,
      features: [{ name: 'annual_income', type: 'numeric', ...numericBins(scores.map((s) => s * 100_000)) }],
      score: numericBins(scores),
    }),
  );
  await store.put(
    featureSpecUri,
    JSON.stringify({
      format: 'mlp.feature-spec/1',
      label: 'defaulted',
      features: [
        { name: 'annual_income', type: 'numeric' },
        { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['north', 'south'] },
      ],
    }),
  );
  await store.put(
    trainingSetUri,
    JSON.stringify({
      format: 'mlp.training-set/1',
      dataset: 'loans',
      datasetVersion: 'v1',
      kid: 'example-2026-11',
      asOf: '2026-11-30',
      window: { column: 'originated_on', months: 36, from: '2023-11-30' },
      maturity: { labelKnown: true, minAgeMonths: 12, matureBy: '2025-11-30' },
      query: 'select 1',
      manifests: [{ seq: 1 }],
      snapshotRows: 600,
      rows: { train: 300, validation: 100, test: 400 },
      positives: { train: 75, validation: 25, test: 100 },
    }),
  );
  const arn = await registry.register({
    ModelPackageGroupName: 'mlp-prod-loans',
    ModelApprovalStatus: 'PendingManualApproval',
    InferenceSpecification: {
      Containers: [{ Image: 'xgboost:1.7-1', ModelDataUrl: `${bucket}/loans/training/${job}/output/model.tar.gz` }],
    },
    CustomerMetadataProperties: {
      trainingJobName: job,
      datasetVersion: 'v1',
      trainingSetUri,
      manifestUri: 's3://mlp-local-landing/landing/loans/run-1/_manifest.json',
      extractRunId: 'run-1',
      policySha256: 'cd'.repeat(32),
      kid: 'example-2026-11',
      agentVersion: '0.1.0',
      featureSpecUri,
      evaluationUri,
      modelSha256: 'ab'.repeat(32),
      trigger: 'manifest',
    },
  });
  const about = { environment: 'prod', modelVersion: 'mlp-prod-loans/1' };
  await trail.append({
    ...about,
    event: 'gate-passed',
    principal: stateMachinePrincipal('prod'),
    reason: 'every check of the promotion policy passed',
  });
  await trail.append({ ...about, event: 'approval-requested', principal: stateMachinePrincipal('prod') });
  await trail.append({
    ...about,
    event: 'approved',
    principal: { kind: 'os-user', id: 'jane' },
    reason: `approved as jane.obrien@bank.example ${HOSTILE}`,
  });
  await trail.append({
    ...about,
    event: 'deployed',
    principal: stateMachinePrincipal('prod'),
    reason: 'passed the promotion gate and its canary',
  });
  // Another version's entry: not on this card.
  await trail.append({
    environment: 'prod',
    modelVersion: 'mlp-prod-loans/2',
    event: 'gate-failed',
    principal: stateMachinePrincipal('prod'),
    reason: 'other',
  });
  await registry.decide(arn, 'Approved', ['passed the promotion gate and its canary'], 'jane.obrien@bank.example');
  return { root, store, registry, trail, arn, candidate, evaluationUri };
}

test('Hanley-McNeil: the interval of AUC 0.8 on 100 positives and 300 negatives, by the paper formula', () => {
  const i = hanleyMcNeilInterval(0.8, 100, 300);
  const q1 = 0.8 / 1.2;
  const q2 = (2 * 0.64) / 1.8;
  const se = Math.sqrt((0.8 * 0.2 + 99 * (q1 - 0.64) + 299 * (q2 - 0.64)) / 30_000);
  expect(i.low).toBeCloseTo(0.8 - 1.959964 * se, 6);
  expect(i.high).toBeCloseTo(0.8 + 1.959964 * se, 6);
  expect(hanleyMcNeilInterval(0.999, 5, 5).high).toBe(1);
});

test('the card holds the lineage, metrics with their interval, baseline and the decisions of this version only', async () => {
  const { store, registry, trail, arn, candidate } = await version();
  const written = await writeModelCard(
    { store, registry, trail, settings, now: () => new Date('2026-12-03T10:00:00Z') },
    arn,
  );
  const card: ModelCard = written.card;
  expect(card).toMatchObject({
    format: MODEL_CARD_FORMAT,
    environment: 'prod',
    model: {
      version: 'mlp-prod-loans/1',
      status: 'Approved',
      trainingJob: 'mlp-prod-loans-20261201-abc',
      trigger: 'manifest',
    },
    data: {
      dataset: 'loans',
      label: settings.label,
      datasetVersion: 'v1',
      policySha256: 'cd'.repeat(32),
      pseudonymKeyId: 'example-2026-11',
      window: { column: 'originated_on', months: 36 },
      rows: { train: 300, validation: 100, test: 400 },
    },
    features: {
      list: [
        { name: 'annual_income', type: 'numeric' },
        { name: 'region', encoding: 'one-hot', categories: 2 },
      ],
    },
    metrics: { rows: 400, positives: 100, negatives: 300, auc: candidate.auc, brier: candidate.brier, champion: null },
    fairness: null,
    fairnessNote: NO_FAIRNESS,
    driftBaseline: { rows: 400, features: [{ name: 'annual_income', type: 'numeric' }] },
    governance: {
      gate: { event: 'gate-passed', principal: 'state-machine:mlp-prod-retraining' },
      approval: {
        event: 'approved',
        principal: 'os-user:jane',
        reason: expect.stringContaining('jane.obrien@bank.example'),
      },
      outcome: { event: 'deployed' },
    },
    missing: [],
  });
  expect(card.intendedUse).toContain(`${settings.label} = 1`);
  expect(card.metrics!.aucInterval.low).toBeLessThan(candidate.auc);
  expect(card.metrics!.aucInterval.high).toBeGreaterThan(candidate.auc);
  expect(card.governance.trail.map((d) => d.event)).toEqual([
    'gate-passed',
    'approval-requested',
    'approved',
    'deployed',
  ]);
  expect(card.features.specSha256).toMatch(/^[0-9a-f]{64}$/);

  // Stored beside the evaluation and recorded in the registry.
  expect(written.jsonUri).toBe(`s3://${settings.buckets.models}/loans/cards/mlp-prod-loans-1.json`);
  expect(JSON.parse(Buffer.from(await store.get(written.jsonUri)).toString('utf8'))).toEqual(card);
  expect(Buffer.from(await store.get(written.htmlUri)).toString('utf8')).toBe(written.html);
  const [record] = await registry.list();
  expect(record.metadata).toMatchObject({
    modelCardUri: written.jsonUri,
    modelCardHtmlUri: written.htmlUri,
    modelCardSha256: written.sha256,
    evaluationUri: expect.any(String),
  });
  // The registry anchors the trail at this version's last entry (the deployment, entry 4), not the trail's last.
  const deployed = (await trail.ofVersion('mlp-prod-loans/1')).at(-1)!;
  expect(deployed.sequence).toBe(4);
  expect(record.metadata.approvalTrailAnchor).toBe(`4:${deployed.hash}`);
});

test('a card is not re-anchored onto a trail that lost the anchored entry', async () => {
  const { store, registry, trail, arn } = await version();
  await writeModelCard({ store, registry, trail, settings }, arn);
  // The same entries, chained afresh elsewhere: a trail re-chained from the start holds other hashes.
  const forged = new ApprovalTrail(store, 's3://mlp-local-prod-audit/approvals/elsewhere/', () => new Date(0));
  for (const e of await trail.entries()) {
    const { format: _f, sequence: _s, at: _a, previous: _p, hash: _h, ...record } = e;
    await forged.append(record);
  }
  await expect(writeModelCard({ store, registry, trail: forged, settings }, arn)).rejects.toThrow(
    'the approval trail no longer holds entry 4 that the registry anchored for mlp-prod-loans/1: run mlp audit',
  );
  // A trail that cannot be read is said to be so, not taken for one that lost the anchor.
  const throttled = { ofVersion: () => Promise.reject(new Error('SlowDown: please reduce your request rate')) };
  await expect(writeModelCard({ store, registry, trail: throttled, settings }, arn)).rejects.toThrow(
    "the approval trail cannot be read to check the registry's anchor of mlp-prod-loans/1: SlowDown",
  );
});

test('intended use from the configuration; fairness shown when the evaluation records it; parts that are gone named', async () => {
  const { store, registry, trail, arn, evaluationUri } = await version();
  const evaluation = JSON.parse(Buffer.from(await store.get(evaluationUri)).toString('utf8'));
  const fairness: FairnessReport = {
    approvalThreshold: 0.3,
    confidence: 0.95,
    minGroupSize: 30,
    rows: 400,
    joined: 390,
    problems: [],
    attributes: [
      {
        attribute: 'age_band',
        groups: [
          {
            group: '30-39',
            rows: 200,
            qualified: 150,
            sufficient: true,
            approvalRate: 0.7,
            approvalRateInterval: { low: 0.63, high: 0.76 },
            equalOpportunityRate: 0.8,
            equalOpportunityInterval: { low: 0.73, high: 0.86 },
            meanScore: 0.25,
            observedRate: 0.25,
            observedRateInterval: { low: 0.19, high: 0.31 },
            calibrationGap: 0,
          },
          {
            group: `<b>${HOSTILE}</b>`,
            rows: 190,
            qualified: 140,
            sufficient: true,
            approvalRate: 0.6,
            approvalRateInterval: { low: 0.53, high: 0.67 },
            equalOpportunityRate: 0.7,
            equalOpportunityInterval: { low: 0.62, high: 0.77 },
            meanScore: 0.27,
            observedRate: 0.26,
            observedRateInterval: { low: 0.2, high: 0.33 },
            calibrationGap: -0.01,
          },
        ],
        missing: 10,
        insufficient: [],
        approvalRatio: 0.857,
        approvalRatioInterval: { low: 0.75, high: 0.98 },
        lowestApproval: 'x',
        highestApproval: '30-39',
        equalOpportunityDifference: 0.1,
        equalOpportunityDifferenceInterval: { low: 0.01, high: 0.19 },
        maxCalibrationGap: 0.01,
      },
    ],
  };
  await store.put(evaluationUri, JSON.stringify({ ...evaluation, fairness }));
  await store.delete(`s3://${settings.buckets.curated}/loans/v1/training-set.json`);
  const written = await writeModelCard(
    { store, registry, trail, settings: { ...settings, intendedUse: 'Retail unsecured loans, UK applicants only.' } },
    arn,
  );
  expect(written.card.intendedUse).toBe('Retail unsecured loans, UK applicants only.');
  expect(written.card.fairness).toEqual(fairness);
  expect(written.card.fairnessNote).toBeNull();
  expect(written.card.data.window).toBeNull();
  expect(written.card.missing).toEqual([expect.stringContaining('training set lineage (s3://')]);
  expect(written.html).toContain('age_band');
  expect(written.html).not.toContain('<script>');
});

test('a card that cannot be recorded fails naming the version and where', async () => {
  const { store, trail, arn, registry } = await version();
  const refusing = { get: registry.get.bind(registry), recordCard: () => Promise.reject(new Error('AccessDenied')) };
  await expect(writeModelCard({ store, registry: refusing, trail, settings }, arn)).rejects.toThrow(
    /the model card of mlp-prod-loans\/1 could not be stored at s3:\/\/.*\/loans\/cards\/mlp-prod-loans-1\.json: AccessDenied/,
  );
});

test('headless Chromium shows the version, metrics, gate decision and approver, and hostile text as text', async () => {
  const { store, registry, trail, arn, root } = await version();
  const { html, card } = await writeModelCard({ store, registry, trail, settings }, arn);
  expect(html).not.toMatch(/<script|<img|<link|<iframe|@import|url\(/i);
  expect(html).not.toMatch(/https?:\/\//);
  expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  const path = join(root, 'card.html');
  writeFileSync(path, html);
  const page = renderPage(path, join(root, 'card.png'), 1100, 3000);
  expect(page.dom).toContain('<title>Model card mlp-prod-loans/1</title>');
  expect(page.dom).toContain('Model card: mlp-prod-loans/1');
  expect(page.dom).toMatch(new RegExp(`<td class="num" id="auc">${card.metrics!.auc.toFixed(4)}</td>`));
  expect(page.dom).toContain(
    `[${card.metrics!.aucInterval.low.toFixed(4)}, ${card.metrics!.aucInterval.high.toFixed(4)}]`,
  );
  expect(page.dom).toContain('gate-passed by <span class="principal">state-machine:mlp-prod-retraining</span>');
  expect(page.dom).toContain('approved by <span class="principal">os-user:jane</span>');
  expect(page.dom).toContain(NO_FAIRNESS);
  // The hostile reason is text in the page: no element of it was made, no script ran.
  expect(page.dom).toContain('&lt;script&gt;document.title="owned"&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
  expect(page.dom).not.toMatch(/<img|owned<\/title>/);
});
