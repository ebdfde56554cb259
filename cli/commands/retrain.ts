/**
 * `mlp retrain`, `mlp models`, `mlp lineage`: the retraining lifecycle from the command line.
 *
 * - `mlp retrain --local [--manifest KEY]` runs the synthesized state machine locally under `$MLP_HOME`;
 *   `mlp retrain --env ENV` starts the deployed state machine with the AWS SDK and follows it to the end.
 * - `mlp models` lists registered versions with metrics, gate decision and status, the champion marked.
 * - `mlp lineage VERSION` prints prediction → model version → training job → dataset version → extract.
 */
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { loadEnvironment } from '../../config';
import { readChampion } from '../../stepfunctions/champion';
import { type ArtifactStore, LocalArtifactStore, S3ArtifactStore } from '../../stepfunctions/artifact-store';
import { modelPackageGroupName } from '../../stepfunctions/retraining-settings';
import { SageMakerModelRegistry } from '../../stepfunctions/sagemaker-registry';
import { localLayout, localSettings, mlpHome } from '../../stepfunctions/local/local-home';
import { LocalModelRegistry, type ModelVersionRecord } from '../../stepfunctions/model-registry';
import type * as Runner from '../../stepfunctions/local/local-retraining';
import { UsageError } from '../usage-error';
import { stackOutput } from './score';

/** CommonJS require relative to this file (the TypeScript loader resolves `.ts`). */
const loadOnDemand = createRequire(__filename);

/** Registers the retraining commands. */
export function registerRetrainCommands(program: Command): void {
  program
    .command('retrain')
    .description('run the retraining state machine locally (--local) or in an environment (--env)')
    .option('--local', 'run the synthesized state machine on this machine, under $MLP_HOME (default .mlp/)')
    .option('--env <name>', 'environment whose configuration (local) or deployment (AWS) to use', 'dev')
    .option('--manifest <key>', 'extract manifest key (default: the dataset latest)')
    .option('--approve-as <name>', 'local runs of an environment that requires approval: who approves')
    .action(async (options: { local?: boolean; env: string; manifest?: string; approveAs?: string }) => {
      const config = loadEnvironment(options.env);
      if (!options.local) return startInAws(config.name, config.region, options.manifest);
      const home = mlpHome();
      const started = Date.now();
      // Loaded on demand: the runner synthesizes the CDK app, which no other mlp command should pay for.
      const { runLocalRetraining } = loadOnDemand('../../stepfunctions/local/local-retraining') as typeof Runner;
      const result = await runLocalRetraining({
        config,
        home,
        input: options.manifest ? { manifestKey: options.manifest, trigger: 'manual' } : { trigger: 'manual' },
        onState: (state) => console.error(`  ${state}`),
        approver: options.approveAs,
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (result.status === 'FAILED') {
        console.error(`retraining failed in ${seconds} s: ${result.error!.name}: ${result.error!.cause}`);
        console.error('the champion keeps serving');
        process.exitCode = 1;
        return;
      }
      const out = result.output as {
        evaluation: { candidate: { auc: number; ks: number; brier: number; calibrationError: number } };
        gate: { promote: boolean; reasons: string[] };
        registration: { modelPackageArn: string };
      };
      const m = out.evaluation.candidate;
      console.log(
        `retrained in ${seconds} s: AUC ${m.auc.toFixed(4)}, KS ${m.ks.toFixed(4)}, Brier ${m.brier.toFixed(4)}, ` +
          `calibration error ${m.calibrationError.toFixed(4)}`,
      );
      console.log(
        out.gate.promote
          ? `promoted: ${out.registration.modelPackageArn.split('/').slice(-2).join('/')} now serves`
          : `not promoted: ${out.gate.reasons.join('; ')}`,
      );
    });

  program
    .command('approve')
    .description('answer a deployed execution waiting at Approve (prod): approve, or --reject with a reason')
    .requiredOption('--env <name>', 'environment')
    .requiredOption('--token <token>', 'the task token from the approval notification')
    .requiredOption('--approver <name>', 'who decides (recorded in the model registry)')
    .option('--reject', 'decline the promotion; the champion keeps serving')
    .option('--reason <text>', 'why (recorded with a rejection)')
    .action(async (options: { env: string; token: string; approver: string; reject?: boolean; reason?: string }) => {
      const config = loadEnvironment(options.env);
      const sfn = await import('@aws-sdk/client-sfn');
      const client = new sfn.SFNClient({ region: config.region });
      if (options.reject) {
        await client.send(
          new sfn.SendTaskFailureCommand({
            taskToken: options.token,
            error: 'ApprovalRejected',
            cause: `${options.approver}: ${options.reason ?? 'no reason given'}`.slice(0, 256),
          }),
        );
      } else {
        await client.send(
          new sfn.SendTaskSuccessCommand({
            taskToken: options.token,
            output: JSON.stringify({ approver: options.approver }),
          }),
        );
      }
      console.log(options.reject ? 'rejected: the champion keeps serving' : 'approved: the deployment continues');
    });

  program
    .command('models')
    .description('list registered model versions with metrics and decisions, champion marked')
    .option('--env <name>', 'environment', 'dev')
    .option('--aws', "read the environment's SageMaker Model Registry instead of the local one under $MLP_HOME")
    .action(async (options: { env: string; aws?: boolean }) => {
      const { versions, champion, store } = await registryView(options.env, options.aws === true);
      if (versions.length === 0) return console.log('no registered models yet: run mlp retrain --local');
      for (const v of versions) {
        const mark = v.modelVersion === champion ? '*' : ' ';
        // Metrics live in the evaluation the version was registered with (ModelQuality statistics).
        const { candidate: m } = JSON.parse(Buffer.from(await store.get(v.metadata.evaluationUri)).toString('utf8'));
        const metrics = `AUC ${m.auc.toFixed(4)} KS ${m.ks.toFixed(4)} Brier ${m.brier.toFixed(4)}`;
        const why = v.statusReasons?.length ? ` (${v.statusReasons.join('; ')})` : '';
        console.log(`${mark} ${v.modelVersion}  ${v.status}  ${metrics}  ${v.createdAt}${why}`);
      }
    });

  program
    .command('lineage')
    .argument('<version>', 'model version, as predictions carry it (e.g. mlp-dev-loans/1)')
    .description('print a model version lineage: training job, dataset version, extract, policy, key id')
    .option('--env <name>', 'environment', 'dev')
    .option('--aws', "read the environment's SageMaker Model Registry instead of the local one under $MLP_HOME")
    .action(async (version: string, options: { env: string; aws?: boolean }) => {
      const { versions } = await registryView(options.env, options.aws === true);
      const record = versions.find((v) => v.modelVersion === version);
      if (!record) throw new UsageError(`no model version ${version} in the registry`);
      const m = record.metadata;
      console.log(`model version   ${record.modelVersion} (${record.status})`);
      console.log(`  artifact      ${record.modelDataUrl}  sha256 ${m.modelSha256}`);
      console.log(`  training job  ${m.trainingJobName}  image ${record.image}`);
      console.log(`  dataset       version ${m.datasetVersion}`);
      console.log(`  extract       ${m.manifestUri} (run ${m.extractRunId})`);
      console.log(`  policy        sha256 ${m.policySha256}, pseudonym key id ${m.kid}, agent ${m.agentVersion}`);
      console.log(`  feature spec  ${m.featureSpecUri}`);
      console.log(`  evaluation    ${m.evaluationUri}`);
    });
}

/**
 * Registered versions, the champion and where their artifacts are: locally the registry file and the champion
 * pointer; in AWS the Model Package Group, whose latest Approved version is the champion (FinishDeploy approves
 * a version only once the traffic shift completed).
 */
async function registryView(envName: string, aws: boolean) {
  const config = loadEnvironment(envName);
  if (aws) {
    const registry = new SageMakerModelRegistry(config.region);
    const versions = await registry.list(modelPackageGroupName(config.name, config.retraining.dataset));
    const champion = versions.filter((v) => v.status === 'Approved').pop()?.modelVersion;
    return { versions, champion, store: new S3ArtifactStore(config.region) as ArtifactStore };
  }
  const layout = localLayout(mlpHome());
  const store: ArtifactStore = new LocalArtifactStore(layout.objects);
  const versions: ModelVersionRecord[] = await new LocalModelRegistry(layout.registry).list();
  const champion = await readChampion(store, localSettings(config));
  return { versions, champion: champion?.modelVersion, store };
}

/** Starts the deployed state machine and follows the execution to its end. */
async function startInAws(envName: string, region: string, manifestKey?: string): Promise<void> {
  const sfn = await import('@aws-sdk/client-sfn');
  const client = new sfn.SFNClient({ region });
  const stateMachineArn = await stackOutput(`${envName}-Retraining`, 'StateMachineArn', region, 'deploy it first');
  const { executionArn } = await client.send(
    new sfn.StartExecutionCommand({
      stateMachineArn,
      input: JSON.stringify(manifestKey ? { manifestKey, trigger: 'manual' } : { trigger: 'manual' }),
    }),
  );
  console.error(`started ${executionArn}`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 10_000));
    const d = await client.send(new sfn.DescribeExecutionCommand({ executionArn }));
    if (d.status === 'RUNNING') continue;
    console.log(`${d.status}${d.error ? `: ${d.error}: ${d.cause}` : ''}`);
    if (d.status !== 'SUCCEEDED') process.exitCode = 1;
    return;
  }
}
