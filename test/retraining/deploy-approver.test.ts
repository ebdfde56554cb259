/**
 * Deploy and FinishDeploy refuse an approver the model registry would refuse to record before they write
 * anything: no serving copy, no canary, no alias move, no champion pointer, no registry decision. RollBackDeploy
 * with an approval trail that will not take its record still restores everything, and says which failed.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENVIRONMENTS } from '../../config/environments';
import { localSettings } from '../../local/local-home';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { LocalModelRegistry } from '../../local/local-model-registry';
import { LocalScorerDeployment } from '../../local/local-scorer-deployment';
import { StepError } from '../../stepfunctions/step-error';
import { ApprovalTrail, recordApprovalRequest } from '../../stepfunctions/governance/approval-trail';
import { recordApprovalDecision } from '../../stepfunctions/governance/approval-decision';
import { type DeployInput, deployStep, finishDeployStep, rollBackDeployStep } from '../../stepfunctions/steps/deploy';

const root = mkdtempSync(join(tmpdir(), 'mlp-deploy-approver-'));
const store = new LocalArtifactStore(join(root, 's3'));
const registry = new LocalModelRegistry(join(root, 'registry.json'));
const servingDir = join(root, 'serving');
const scorer = new LocalScorerDeployment(servingDir, (uri) => join(root, 's3', uri.slice('s3://'.length)));
const deps = {
  store,
  settings: localSettings({ name: 'prod', retraining: ENVIRONMENTS.prod.retraining }),
  registry,
  scorer,
};

/** An execution's state at Deploy, approved by `approver` (the artifacts it names do not exist: nothing may read them). */
function input(approver: string): DeployInput {
  return {
    registration: { modelPackageArn: 'arn:aws:sagemaker:local:000000000000:model-package/mlp-prod-loans/1' },
    approval: { approver },
    deployment: { candidate: '1', previous: null },
    training: { modelDataUrl: 's3://mlp-local-prod-models/loans/training/job/output/model.tar.gz' },
    prepared: { featureSpecUri: 's3://mlp-local-prod-curated/loans/v1/feature-spec.json' },
    evaluation: { modelSha256: 'ab'.repeat(32) },
    validation: { datasetVersion: 'v1' },
  } as unknown as DeployInput;
}

test.each([
  ['Deploy', deployStep(deps)],
  ['FinishDeploy', finishDeployStep(deps)],
])('%s refuses "Jane O\'Brien, risk" before any write', async (_name, step) => {
  const error = await (step as (i: DeployInput) => Promise<unknown>)(input("Jane O'Brien, risk")).then(
    () => undefined,
    (e: unknown) => e as StepError,
  );
  expect(error).toBeInstanceOf(StepError);
  expect(error!.name).toBe('ApprovalInvalid');
  expect(error!.message).toMatch(/mlp-prod-loans\/1: the approver may hold only letters/);
  expect(existsSync(join(root, 's3')) ? readdirSync(join(root, 's3')) : []).toEqual([]);
  expect(LocalScorerDeployment.readAlias(servingDir)).toBeUndefined();
  expect(await registry.list()).toEqual([]);
});

test('RollBackDeploy with a trail that will not take its record rolls back all the same: TrailUnavailable, not RollbackFailed', async () => {
  const arn = await registry.register({
    ModelPackageGroupName: 'mlp-prod-loans',
    ModelApprovalStatus: 'PendingManualApproval',
    InferenceSpecification: { Containers: [{ Image: 'xgboost', ModelDataUrl: 's3://mlp-local-prod-models/m.tar.gz' }] },
  } as never);
  // A trail whose first entry is not one: it does not verify, so nothing is appended to it.
  const trailUri = 's3://mlp-local-prod-audit/approvals/prod/';
  await store.put(`${trailUri}0000000001.json`, 'not an entry');
  const rollBack = rollBackDeployStep({ ...deps, trail: new ApprovalTrail(store, trailUri) });
  const execution = {
    ...input('jane.obrien@bank.example'),
    registration: { modelPackageArn: arn },
    deployment: undefined,
    error: { Error: 'CanaryRolledBack', Cause: 'the canary answered 503' },
  } as unknown as DeployInput;
  const error = await rollBack(execution).then(
    () => undefined,
    (e: unknown) => e as StepError,
  );
  expect(error?.name).toBe('TrailUnavailable');
  expect(error?.message).toContain('was rolled back (alias, champion pointer and registry agree)');
  expect(error?.message).toContain('entry 1 is not a trail entry');
  expect((await registry.list()).find((v) => v.modelPackageArn === arn)).toMatchObject({ status: 'Rejected' });
});

test('Deploy refuses, before any write, an approval the approval trail does not hold (ApprovalNotRecorded)', async () => {
  const trailStore = new LocalArtifactStore(join(root, 'trail-s3'));
  const trail = new ApprovalTrail(trailStore, 's3://mlp-local-prod-audit/approvals/prod/');
  const deploy = deployStep({ ...deps, trail });
  const attempt = () =>
    deploy(input('jane.obrien@bank.example')).then(
      () => undefined,
      (e: unknown) => e as StepError,
    );
  const modelPackageArn = input('x').registration.modelPackageArn;
  await recordApprovalRequest(trail, 'prod', { modelPackageArn, execution: 'e1' });
  // Answered as approved (a name in the payload), but nothing in the trail: refused before any write.
  const unrecorded = await attempt();
  expect(unrecorded?.name).toBe('ApprovalNotRecorded');
  expect(unrecorded?.message).toMatch(
    /mlp-prod-loans\/1 was answered as approved, but the approval trail holds no approval/,
  );
  const rejected = await recordApprovalDecision(trail, 'prod', 'mlp-prod-loans/1', {
    approve: false,
    principal: { kind: 'iam', id: 'arn:aws:sts::1:assumed-role/Approver/risk' },
    reason: 'no',
  });
  expect((await attempt())?.message).toContain(`it holds #${rejected.sequence} rejected by iam`);
  // Nothing was copied where the scorer reads, and no canary started.
  expect(existsSync(join(root, 's3', 'mlp-local-prod-models'))).toBe(false);
  expect(LocalScorerDeployment.readAlias(servingDir)).toBeUndefined();
  // A decision on a version no longer waiting is refused by name.
  await expect(
    recordApprovalDecision(trail, 'prod', 'mlp-prod-loans/1', {
      approve: true,
      principal: { kind: 'iam', id: 'arn:aws:sts::1:assumed-role/Approver/jane' },
      reason: 'late',
    }),
  ).rejects.toThrow(/mlp-prod-loans\/1 is not waiting for approval: its latest entry is #\d+ rejected/);
});
