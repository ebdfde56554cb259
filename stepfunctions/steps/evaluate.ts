/**
 * Evaluate: loads the trained artifact with the scorer's own reader and scores the test split with it and
 * with the current champion (each under its own feature spec) on the very same rows. Writes the evaluation
 * next to the model and returns the metrics the Gate and the registry use; writes the candidate's drift
 * baseline beside it: Prepare's training bins plus the histogram of the candidate's scores on the test split.
 * With config `retraining.fairness`, it also reports the candidate's decisions by protected group, the attributes
 * joined by pseudonymous key from their restricted dataset (../governance/fairness-attributes.ts).
 */
import { createHash } from 'node:crypto';
import { parseFeatureSpec } from '../../lambdas/features/feature-spec';
import { ScoringModel } from '../../lambdas/scorer/scoring-model';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { numericBins, readDriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import { models, s3Uri } from '../../contracts/s3-layout';
import { parseTestRecords, type TestRecord } from '../../contracts/test-records';
import type { FairnessReport } from '../../contracts/fairness';
import type { ArtifactStore } from '../artifact-store';
import { fairnessOfCandidate } from '../governance/fairness-attributes';
import { readChampion } from '../champion';
import { binaryMetrics, type ModelMetrics, rocCurve, scoreHistogram } from '../model-metrics';
import { StepError } from '../step-error';
import type { PreparedData } from './prepare';
import type { StepDependencies } from './validate-manifest';

/** What the training job produced (selected from DescribeTrainingJob). */
export interface TrainingOutcome {
  readonly trainingJobName: string;
  readonly trainingJobArn: string;
  readonly modelDataUrl: string;
  readonly finalMetrics?: readonly { MetricName: string; Value: number }[];
}

/** Input of the step. */
export interface EvaluateInput {
  readonly prepared: PreparedData;
  readonly training: TrainingOutcome;
}

/** Metrics of the candidate and of the champion on the same rows. */
export interface Evaluation {
  readonly evaluationUri: string;
  /** The candidate's drift baseline (features and score), which Deploy ships beside the model. */
  readonly baselineUri: string;
  readonly modelSha256: string;
  readonly candidate: ModelMetrics;
  readonly champion: {
    readonly modelVersion: string;
    readonly datasetVersion: string;
    readonly metrics: ModelMetrics;
  } | null;
  /** The candidate's decisions by protected group (with config `retraining.fairness`). */
  readonly fairness?: FairnessReport;
}

/** Loads a model artifact and its spec into a scorer, or fails with `ModelLoadFailed`. */
async function loadModel(store: ArtifactStore, modelUri: string, specUri: string, version: string) {
  try {
    const bytes = await store.get(modelUri);
    const spec = parseFeatureSpec(JSON.parse(Buffer.from(await store.get(specUri)).toString('utf8')));
    const model = new ScoringModel(new Predictor(readModel(bytes)), spec, version);
    return { model, sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (error) {
    throw new StepError('ModelLoadFailed', `${version} (${modelUri}) cannot be loaded: ${(error as Error).message}`);
  }
}

/** Scores labelled records, keeping only the fields the model's spec knows. */
function score(model: ScoringModel, rows: readonly TestRecord[]) {
  const names = model.vectorizer.spec.features.map((f) => f.name);
  const records = rows.map(({ record }) => Object.fromEntries(names.map((n) => [n, record[n] ?? null])));
  const predictions = model.score(records) as number[];
  const labels = rows.map((r) => r.label);
  return { metrics: binaryMetrics(labels, predictions), labels, predictions };
}

/** Builds the step's handler. */
export function evaluateStep({ store, settings }: StepDependencies) {
  return async ({ prepared, training }: EvaluateInput): Promise<Evaluation> => {
    const rows = parseTestRecords(Buffer.from(await store.get(prepared.testRecordsUri)).toString('utf8'));
    const candidate = await loadModel(store, training.modelDataUrl, prepared.featureSpecUri, training.trainingJobName);
    const scored = score(candidate.model, rows);
    const candidateMetrics = scored.metrics;

    const pointer = await readChampion(store, settings);
    let champion: Evaluation['champion'] = null;
    if (pointer) {
      const loaded = await loadModel(store, pointer.modelDataUrl, pointer.featureSpecUri, pointer.modelVersion);
      champion = {
        modelVersion: pointer.modelVersion,
        datasetVersion: pointer.datasetVersion,
        metrics: score(loaded.model, rows).metrics,
      };
    }
    const evaluationUri = s3Uri(
      settings.buckets.models,
      models.evaluationKey(settings.dataset, training.trainingJobName),
    );
    const baselineUri = s3Uri(settings.buckets.models, models.baselineKey(settings.dataset, training.trainingJobName));
    const trainingBins = readDriftBaseline(await store.get(prepared.baselineUri), prepared.baselineUri);
    const baseline = { ...trainingBins, score: numericBins(scored.predictions) };
    await store.put(baselineUri, `${JSON.stringify(baseline, null, 2)}\n`);
    const fairness = settings.fairness
      ? await fairnessOfCandidate(
          store,
          settings,
          settings.fairness,
          rows.map((r, i) => ({ key: r.key, label: r.label, score: scored.predictions[i] })),
        )
      : undefined;
    const evaluation: Evaluation = {
      evaluationUri,
      baselineUri,
      modelSha256: candidate.sha256,
      candidate: candidateMetrics,
      champion,
      ...(fairness ? { fairness } : {}),
    };
    // The curves go into the document only (the report draws them), not into the state machine's state.
    const curves = {
      roc: rocCurve(scored.labels, scored.predictions),
      scoreHistogram: scoreHistogram(scored.labels, scored.predictions),
    };
    await store.put(evaluationUri, `${JSON.stringify({ ...evaluation, training, curves }, null, 2)}\n`);
    return evaluation;
  };
}
