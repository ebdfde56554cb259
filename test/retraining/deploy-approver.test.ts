/**
 * Deploy and FinishDeploy refuse an approver the model registry would refuse to record before they write
 * anything: no serving copy, no canary, no alias move, no champion pointer, no registry decision.
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
import { type DeployInput, deployStep, finishDeployStep } from '../../stepfunctions/steps/deploy';

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
