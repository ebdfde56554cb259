/**
 * Lambda entry points of the retraining steps (one function per step; Deploy, FinishDeploy, RollBackDeploy and
 * RecordRejection share `deployer`). Dependencies come from the environment CDK sets: RETRAINING_SETTINGS, and for the deployer
 * SCORER_FUNCTION_NAME, SCORER_ALIAS, SCORER_ALARMS, SCORER_METRICS_NAMESPACE, CANARY_PERCENT and
 * CANARY_MAX_ERROR_PERCENT.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type * as SnsSdk from '@aws-sdk/client-sns';
import { S3ArtifactStore } from './artifact-store';
import type { Evaluation } from './steps/evaluate';
import { SageMakerModelRegistry } from './sagemaker-registry';
import { GlueTableCatalog } from './curated/glue-table-catalog';
import { retrainingSteps, type DeployerEvent } from './retraining-steps';
import { approvalTrailUri, type RetrainingSettings, settingsFromEnvironment } from './retraining-settings';
import { ApprovalTrail, recordApprovalRequest } from './governance/approval-trail';
import { modelVersionOf } from './model-registry';
import { deploymentOptionsFromEnvironment, LambdaAliasDeployment, type ScorerDeployment } from './scorer-deployment';

const logger = new Logger({ serviceName: 'mlp-retraining' });

/** The scorer of a step function that has none: any use is a wiring error, named. */
const noScorer = () => Promise.reject(new Error('this step function has no scorer: SCORER_* are set on the deployer'));
const NO_SCORER: ScorerDeployment = {
  startCanary: noScorer,
  canaryProblems: noScorer,
  complete: noScorer,
  rollback: noScorer,
  abandonCanary: noScorer,
};

let steps: ReturnType<typeof retrainingSteps> | undefined;
let trail: ApprovalTrail | undefined;
/** The environment's approval trail in the audit bucket, when the settings name one. */
function currentTrail(settings: RetrainingSettings): ApprovalTrail | undefined {
  const uri = approvalTrailUri(settings);
  trail ??= uri ? new ApprovalTrail(new S3ArtifactStore(), uri) : undefined;
  return trail;
}
function current() {
  if (steps) return steps;
  const settings = settingsFromEnvironment();
  steps = retrainingSteps({
    store: new S3ArtifactStore(),
    settings,
    trail: currentTrail(settings),
    registry: new SageMakerModelRegistry(),
    catalog: new GlueTableCatalog(),
    // Only the deployer is told which scorer it shifts; the other steps never touch it.
    scorer: process.env.SCORER_FUNCTION_NAME
      ? new LambdaAliasDeployment(deploymentOptionsFromEnvironment())
      : NO_SCORER,
  });
  return steps;
}

/** Runs a step, logging its outcome (names and counts only: steps never log data values). */
async function run<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    const result = await work();
    logger.info('step succeeded', { step: name });
    return result;
  } catch (error) {
    logger.error('step failed', { step: name, error: (error as Error).name, reason: (error as Error).message });
    throw error;
  }
}

type Input<K extends keyof ReturnType<typeof retrainingSteps>> = Parameters<ReturnType<typeof retrainingSteps>[K]>[0];

export const validateManifest = (event: Input<'ValidateManifest'>) =>
  run('ValidateManifest', () => current().ValidateManifest(event));
/** Prepare's function runs Prepare, and MergeExtract where the training set is Athena's (`stage: "merge"`). */
export const prepare = (event: Input<'Prepare'> & { readonly stage?: 'merge' }) =>
  event.stage === 'merge'
    ? run('MergeExtract', () => current().MergeExtract(event))
    : run('Prepare', () => current().Prepare(event));
export const evaluate = (event: Input<'Evaluate'>) => run('Evaluate', () => current().Evaluate(event));
export const gate = (event: Input<'Gate'>) => run('Gate', () => current().Gate(event));
export const deployer = (event: DeployerEvent) => run(event.step, () => current().deployer(event));

/** The SNS client of the approval step, created on its first invocation and kept for the container. */
let sns: Promise<typeof SnsSdk & { client: SnsSdk.SNSClient }> | undefined;

/** What the Approve state sends the approval step. */
export interface ApprovalRequest {
  readonly taskToken: string;
  /** The execution's id. */
  readonly execution: string;
  readonly modelPackageArn: string;
  /** The candidate's and the champion's metrics, for the approver. */
  readonly evaluation: Evaluation;
}

/**
 * Approve (prod): records the request in the approval trail and publishes the candidate's metrics to the alerts
 * topic with the command that decides it. The task token stays out of the message: `mlp approve VERSION --env`
 * takes it from the execution's history, and Deploy ships only what the trail holds an approval for.
 */
export const requestApproval = (event: ApprovalRequest) =>
  run('Approve', async () => {
    sns ??= import('@aws-sdk/client-sns').then((sdk) => ({ ...sdk, client: new sdk.SNSClient({}) }));
    const { client, PublishCommand } = await sns;
    const settings = settingsFromEnvironment();
    const trail = currentTrail(settings);
    if (trail) await recordApprovalRequest(trail, settings.envName, event);
    const { taskToken: _, ...request } = event;
    const modelVersion = modelVersionOf(event.modelPackageArn);
    const decide = `mlp approve ${modelVersion} --env ${settings.envName} --reason TEXT [--reject]`;
    await client.send(
      new PublishCommand({
        TopicArn: process.env.ALERT_TOPIC_ARN,
        Subject: 'mlp: a model is waiting for approval',
        Message: JSON.stringify({ modelVersion, decide, ...request }, null, 2),
      }),
    );
    return { requested: true };
  });
