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
import { modelVersionOf } from '../../stepfunctions/model-registry';
import { StepError } from '../../stepfunctions/step-error';
import { ApprovalTrail, recordApprovalRequest } from '../../stepfunctions/governance/approval-trail';
import { recordApprovalDecision } from '../../stepfunctions/governance/approval-decision';
import { approvalRejectionCause, retrainingOutcome } from '../../stepfunctions/retraining-outcome';
import {
  type DeployInput,
  deployStep,
  finishDeployStep,
  recordRejectionStep,
  rollBackDeployStep,
} from '../../stepfunctions/steps/deploy';

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

test('RecordRejection records the rejection the trail holds; one answered around it gets no approver, typed names aside', async () => {
  const trailStore = new LocalArtifactStore(join(root, 'rejection-s3'));
  const trail = new ApprovalTrail(trailStore, 's3://mlp-local-prod-audit/approvals/prod/');
  const record = recordRejectionStep({ ...deps, store: trailStore, registry, trail });
  /** A registered version waiting at Approve, failed with a Cause that names `approver`. */
  const waiting = async () => {
    const modelPackageArn = await registry.register({
      ModelPackageGroupName: 'mlp-prod-loans',
      ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: { Containers: [{ Image: 'xgboost', ModelDataUrl: 's3://m/m.tar.gz' }] },
    } as never);
    await recordApprovalRequest(trail, 'prod', { modelPackageArn, execution: `e-${modelPackageArn.at(-1)}` });
    const cause = approvalRejectionCause({ approver: 'jane.obrien', reason: 'typed into SendTaskFailure' });
    return { registration: { modelPackageArn }, gate: { reasons: [] }, approvalError: { Cause: cause } } as never;
  };
  const version = async (arn: string) => (await registry.list()).find((v) => v.modelPackageArn === arn)!;

  // Through mlp approve: the trail's principal and reason, not the Cause's.
  const first = await waiting();
  const arn1 = (first as DeployInput).registration.modelPackageArn;
  const risk = 'arn:aws:sts::1:assumed-role/Approver/risk.officer';
  await recordApprovalDecision(trail, 'prod', modelVersionOf(arn1), {
    approve: false,
    principal: { kind: 'iam', id: risk },
    reason: 'calibration drifts',
  });
  const recorded = await record(first);
  expect(recorded).toMatchObject({ approver: risk, reason: 'calibration drifts' });
  expect(await version(arn1)).toMatchObject({ status: 'Rejected', approver: risk });

  // Around it (the task failed by whoever read its token): no approver anywhere, and the trail says so.
  const second = await waiting();
  const arn2 = (second as DeployInput).registration.modelPackageArn;
  const around = await record(second);
  expect(around.approver).toBeUndefined();
  expect(around.reason).toMatch(
    /^the waiting task was failed outside mlp approve: the approval trail holds no rejection/,
  );
  expect((await version(arn2)).approver).toBeUndefined();
  expect((await version(arn2)).status).toBe('Rejected');
  const entries = await trail.ofVersion(modelVersionOf(arn2));
  expect(entries.at(-1)).toMatchObject({
    event: 'rejected',
    principal: { kind: 'state-machine' },
    reason: around.reason,
  });
  expect(JSON.stringify(entries)).not.toContain('jane.obrien');
  // What mlp retrain prints is whom the registry recorded.
  const outcome = retrainingOutcome('SUCCEEDED', { ...(second as object), decision: around });
  expect(outcome).toMatchObject({ outcome: 'Rejected', reason: around.reason });
  expect(outcome).not.toHaveProperty('approver');
  expect(retrainingOutcome('SUCCEEDED', { ...(first as object), decision: recorded })).toMatchObject({
    approver: risk,
  });
  // A retried RecordRejection records it once.
  await record(second);
  expect((await trail.ofVersion(modelVersionOf(arn2))).length).toBe(entries.length);
});
