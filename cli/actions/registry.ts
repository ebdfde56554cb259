/**
 * `mlp models` and `mlp lineage`: the registered versions of an environment's model, locally or in AWS, and
 * what each is traced to (training job, dataset version, extract, policy, key id).
 */
import { loadEnvironment } from '../../config';
import type { ArtifactStore } from '../../stepfunctions/artifact-store';
import { readChampion } from '../../stepfunctions/champion';
import { localLayout, localSettings, mlpHome } from '../../local/local-home';
import type { ModelMetrics } from '../../stepfunctions/model-metrics';
import { LocalModelRegistry } from '../../local/local-model-registry';
import type { ModelVersionRecord } from '../../stepfunctions/model-registry';
import { modelPackageGroupName } from '../../contracts/resource-names';
import { SageMakerModelRegistry } from '../../stepfunctions/sagemaker-registry';
import type { TrainingSetLineage } from '../../stepfunctions/curated/training-set';
import { UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { type Target, targetOf, type TargetOptions } from '../commands/options';
import { targetStore } from './target-store';

/** Options of `mlp models` and `mlp lineage`. */
export interface RegistryOptions extends TargetOptions {
  readonly json?: boolean;
}

/** One version as `mlp models` shows it. */
interface VersionRow {
  readonly modelVersion: string;
  readonly champion: boolean;
  readonly status: string;
  readonly createdAt: string;
  readonly metrics: Pick<ModelMetrics, 'auc' | 'ks' | 'brier' | 'calibrationError'> | null;
  readonly reasons: readonly string[];
  /** Who decided the status: the approver, whoever declined, or `promotion-gate`. */
  readonly decidedBy?: string;
}

/** `mlp models`. */
export async function models(options: RegistryOptions): Promise<void> {
  const target = targetOf(options);
  const { versions, champion, store } = await registryView(target);
  const rows: VersionRow[] = [];
  for (const v of versions) {
    rows.push({
      modelVersion: v.modelVersion,
      champion: v.modelVersion === champion,
      status: v.status,
      createdAt: v.createdAt,
      metrics: await registeredMetrics(store, v),
      reasons: v.statusReasons ?? [],
      ...(v.approver ? { decidedBy: v.approver } : {}),
    });
  }
  new CommandOutput(options).result(
    { environment: target.env, location: target.kind, champion: champion ?? null, versions: rows },
    {
      human: (r) => {
        if (r.versions.length === 0) {
          return `no registered models in ${describeTarget(target)} yet: run mlp retrain${target.kind === 'aws' ? ` --env ${target.env}` : target.env === 'dev' ? '' : ` --local ${target.env}`}`;
        }
        return r.versions.map((v) => {
          const m = v.metrics;
          const metrics = m
            ? `AUC ${m.auc.toFixed(4)} KS ${m.ks.toFixed(4)} Brier ${m.brier.toFixed(4)}`
            : 'metrics unavailable';
          const why = v.reasons.length ? ` (${v.reasons.join('; ')})` : '';
          return `${v.champion ? '*' : ' '} ${v.modelVersion}  ${v.status}  ${metrics}  ${v.createdAt}${why}`;
        });
      },
      lines: (r) => r.versions,
    },
  );
}

/** `mlp lineage VERSION`. */
export async function lineage(version: string, options: RegistryOptions): Promise<void> {
  const { record, store } = await findVersion(targetOf(options), version);
  const m = record.metadata;
  const trainingSet = m.trainingSetUri ? await readTrainingSet(store, m.trainingSetUri) : undefined;
  const result = {
    modelVersion: record.modelVersion,
    status: record.status,
    decidedBy: record.approver ?? null,
    artifact: { uri: record.modelDataUrl, sha256: m.modelSha256 },
    trainingJob: m.trainingJobName,
    image: record.image,
    datasetVersion: m.datasetVersion,
    extract: { manifestUri: m.manifestUri, runId: m.extractRunId },
    policySha256: m.policySha256,
    pseudonymKeyId: m.kid,
    agentVersion: m.agentVersion,
    featureSpecUri: m.featureSpecUri,
    evaluationUri: m.evaluationUri,
    trainingSetUri: m.trainingSetUri ?? null,
    asOf: trainingSet?.asOf ?? null,
    window: trainingSet?.window ?? null,
    maturity: trainingSet?.maturity ?? null,
    manifests: trainingSet?.manifests ?? null,
    rows: trainingSet?.rows ?? null,
  };
  new CommandOutput(options).result(result, {
    human: (r) => [
      `model version   ${r.modelVersion} (${r.status}${r.decidedBy ? ` by ${r.decidedBy}` : ''})`,
      `  artifact      ${r.artifact.uri}  sha256 ${r.artifact.sha256}`,
      `  training job  ${r.trainingJob}  image ${r.image}`,
      `  dataset       version ${r.datasetVersion}` +
        (r.asOf && r.rows
          ? ` as of ${r.asOf}: ${r.rows.train}/${r.rows.validation}/${r.rows.test} train/validation/test rows`
          : ''),
      ...(r.window && r.maturity
        ? [
            `  window        ${r.window.column} from ${r.window.from} (${r.window.months} months), ` +
              `label known and at least ${r.maturity.minAgeMonths} months old (by ${r.maturity.matureBy})`,
          ]
        : []),
      ...(r.manifests ?? []).map(
        (e) => `  manifest ${String(e.seq).padStart(3)}  ${e.manifestKey} (${e.rows} rows, ${e.added} new versions)`,
      ),
      `  extract       ${r.extract.manifestUri} (run ${r.extract.runId})`,
      `  policy        sha256 ${r.policySha256}, pseudonym key id ${r.pseudonymKeyId}, agent ${r.agentVersion}`,
      `  feature spec  ${r.featureSpecUri}`,
      `  evaluation    ${r.evaluationUri}`,
    ],
  });
}

/** A training set's lineage (training-set.json), or undefined when it is gone. */
async function readTrainingSet(store: ArtifactStore, uri: string): Promise<TrainingSetLineage | undefined> {
  try {
    return JSON.parse(Buffer.from(await store.get(uri)).toString('utf8')) as TrainingSetLineage;
  } catch {
    return undefined;
  }
}

/** One registered version of `target` and the store its artifacts are in; a UsageError listing the known ones. */
export async function findVersion(target: Target, version: string) {
  const view = await registryView(target);
  const record = view.versions.find((v) => v.modelVersion === version);
  if (!record) {
    const known = view.versions.map((v) => v.modelVersion);
    throw new UsageError(
      `no model version ${version} in ${describeTarget(target)}` +
        (known.length ? `; it holds ${known.join(', ')}` : '; it holds none yet'),
    );
  }
  return { ...view, record };
}

function describeTarget(target: Target): string {
  return target.kind === 'aws'
    ? `the model registry of ${target.env} in AWS`
    : `the local registry of ${target.env} (${localLayout(mlpHome(), target.env).registry})`;
}

/** The metrics a version was registered with (its evaluation), or null when the evaluation is gone. */
async function registeredMetrics(store: ArtifactStore, version: ModelVersionRecord): Promise<VersionRow['metrics']> {
  try {
    const evaluation = JSON.parse(Buffer.from(await store.get(version.metadata.evaluationUri)).toString('utf8')) as {
      candidate: ModelMetrics;
    };
    const { auc, ks, brier, calibrationError } = evaluation.candidate;
    return { auc, ks, brier, calibrationError };
  } catch {
    return null;
  }
}

/**
 * Registered versions, the champion and where their artifacts are: locally the environment's registry file
 * and champion pointer; in AWS the Model Package Group, whose latest Approved version is the champion
 * (FinishDeploy approves a version only once the traffic shift completed).
 */
export async function registryView(target: Target) {
  const config = loadEnvironment(target.env);
  if (target.kind === 'aws') {
    const registry = new SageMakerModelRegistry(config.region);
    const versions = await registry.list(modelPackageGroupName(config.name, config.retraining.dataset));
    const champion = versions.filter((v) => v.status === 'Approved').pop()?.modelVersion;
    return { versions, champion, store: targetStore(target, config) };
  }
  const layout = localLayout(mlpHome(), config.name);
  const store = targetStore(target, config);
  const versions: ModelVersionRecord[] = await new LocalModelRegistry(layout.registry).list();
  const champion = await readChampion(store, localSettings(config));
  return { versions, champion: champion?.modelVersion, store };
}
