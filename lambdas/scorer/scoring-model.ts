/**
 * A model ready to serve: the predictor, the feature spec that builds its input rows, the version every
 * prediction carries, and its drift baseline, against which every scored record is counted. Loaded once per
 * container (or process) from URIs. A baseline that cannot be used (unreadable, malformed, of another model
 * version) does not stop scoring: the model serves without drift counts and says why ({@link baselineProblem}).
 */
import { createHash } from 'node:crypto';
import { parseChampionPointer } from '../../contracts/champion-pointer';
import { numericSpec, parseFeatureSpec, type FeatureSpec, FeatureSpecError } from '../features/feature-spec';
import { Vectorizer } from '../features/vectorizer';
import { readObject } from '../commons/object-io';
import { Predictor } from '../xgboost/predictor';
import { readModel } from '../xgboost/read-model';
import { type DriftBaseline, readDriftBaseline } from '../monitoring/drift-baseline';
import { DriftCounter } from '../monitoring/drift-counts';
import { type DecisionReason, DecisionReasons, ExplanationsUnavailable } from './decision-reasons';

/** Where a scoring model comes from. */
export interface ScoringModelSource {
  /** Model file: model.tar.gz, xgboost-model, .json or .ubj; `s3://` or a local path. */
  readonly modelUri: string;
  /** feature-spec.json; when absent, numeric features named after the model (or f0…). */
  readonly featureSpecUri?: string;
  /** Label reported with every prediction. @default "unversioned" */
  readonly modelVersion?: string;
  /** Expected SHA-256 of the model file. */
  readonly modelSha256?: string;
  /** The model's drift baseline (baseline.json); without it no drift is counted. */
  readonly baselineUri?: string;
}

/** Predictions of one request: one value per record, or one array per record for multi-class. */
export type Predictions = number[] | number[][];

/** A loaded model with its spec. */
export class ScoringModel {
  readonly vectorizer: Vectorizer;
  /** Counts scored records into the baseline's bins; undefined without a usable baseline. */
  readonly drift?: DriftCounter;
  /** Why a baseline was given but is not used (null when it is used or none was given). */
  readonly baselineProblem: string | null;
  /** Why this model cannot explain its decisions (null when it can: see {@link explain}). */
  readonly explainProblem: string | null;
  private readonly reasons?: DecisionReasons;
  private rows: Float32Array;
  private raw: Float64Array;
  private outputs: Float64Array;

  constructor(
    readonly predictor: Predictor,
    /** The spec that builds the rows: the model's feature-spec.json, or numeric features named after the model. */
    readonly spec: FeatureSpec,
    readonly version: string,
    /** Where it came from: SHA-256 of the spec file (null without one) and the model's expected SHA-256. */
    readonly provenance: { readonly featureSpecSha256: string | null; readonly modelSha256: string | null } = {
      featureSpecSha256: null,
      modelSha256: null,
    },
    baseline?: DriftBaseline | Error,
  ) {
    this.vectorizer = new Vectorizer(spec);
    let problem: string | null = baseline instanceof Error ? baseline.message : null;
    if (baseline && !(baseline instanceof Error)) {
      if (baseline.modelVersion !== undefined && baseline.modelVersion !== version) {
        problem = `the baseline is of ${baseline.modelVersion}, not of ${version}`;
      } else {
        this.drift = new DriftCounter(spec, baseline, version);
      }
    }
    this.baselineProblem = problem;
    this.raw = new Float64Array(this.drift ? spec.features.length : 0);
    if (this.vectorizer.width !== predictor.numFeature) {
      throw new FeatureSpecError(
        `the feature spec yields ${this.vectorizer.width} columns but the model expects ${predictor.numFeature}`,
      );
    }
    this.rows = new Float32Array(predictor.numFeature);
    this.outputs = new Float64Array(predictor.outputWidth);
    let explainProblem: string | null = null;
    try {
      this.reasons = new DecisionReasons(predictor.model, spec);
    } catch (error) {
      if (!(error instanceof ExplanationsUnavailable)) throw error;
      explainProblem = error.message;
    }
    this.explainProblem = explainProblem;
  }

  /**
   * The `k` strongest adverse reasons of each record's decision (see decision-reasons.ts), for records
   * {@link score} accepts. Throws ExplanationsUnavailable when the model cannot explain ({@link explainProblem}),
   * RecordError for a bad record.
   */
  explain(records: readonly unknown[], k: number): DecisionReason[][] {
    if (!this.reasons) throw new ExplanationsUnavailable(this.explainProblem!);
    const row = new Float32Array(this.predictor.numFeature);
    return records.map((record, i) => {
      this.vectorizer.fill(record, i, row, 0);
      return this.reasons!.reasons(row, k);
    });
  }

  /**
   * Scores records (throws RecordError naming the first bad record and field, and counts nothing then). With a
   * baseline, the records and their scores are counted into its bins (taken with `drift.take()`).
   */
  score(records: readonly unknown[]): Predictions {
    const { predictor, vectorizer, drift } = this;
    const width = predictor.numFeature;
    const n = records.length;
    if (this.rows.length < n * width) this.rows = new Float32Array(n * width);
    const stride = this.spec.features.length;
    if (drift) {
      if (this.raw.length < n * stride) this.raw = new Float64Array(n * stride);
      for (let i = 0; i < n; i++) vectorizer.fill(records[i], i, this.rows, i * width, this.raw, i * stride);
    } else {
      for (let i = 0; i < n; i++) vectorizer.fill(records[i], i, this.rows, i * width);
    }
    const outWidth = predictor.outputWidth;
    if (this.outputs.length < n * outWidth) this.outputs = new Float64Array(n * outWidth);
    predictor.predict(this.rows.subarray(0, n * width), n, this.outputs);
    if (drift) {
      drift.addRows(this.raw, n);
      drift.addScores(this.outputs, n, outWidth);
    }
    if (outWidth === 1) return Array.from(this.outputs.subarray(0, n));
    return Array.from({ length: n }, (_, i) => Array.from(this.outputs.subarray(i * outWidth, (i + 1) * outWidth)));
  }
}

/** Loads model and spec. */
export async function loadScoringModel(source: ScoringModelSource): Promise<ScoringModel> {
  const [modelBytes, specBytes, baseline] = await Promise.all([
    readObject(source.modelUri),
    source.featureSpecUri ? readObject(source.featureSpecUri) : Promise.resolve(undefined),
    source.baselineUri ? loadBaseline(source.baselineUri) : Promise.resolve(undefined),
  ]);
  const predictor = new Predictor(readModel(modelBytes, { sha256: source.modelSha256 }));
  let spec: FeatureSpec;
  if (specBytes) {
    let document: unknown;
    try {
      document = JSON.parse(new TextDecoder().decode(specBytes));
    } catch {
      throw new FeatureSpecError('feature spec is not valid JSON');
    }
    spec = parseFeatureSpec(document);
  } else {
    spec = numericSpec(predictor.numFeature, predictor.model.featureNames);
  }
  return new ScoringModel(
    predictor,
    spec,
    source.modelVersion ?? 'unversioned',
    {
      featureSpecSha256: specBytes ? createHash('sha256').update(specBytes).digest('hex') : null,
      modelSha256: source.modelSha256 ?? null,
    },
    baseline,
  );
}

/** A baseline, or the error that makes it unusable (the model serves without it). */
async function loadBaseline(uri: string): Promise<DriftBaseline | Error> {
  try {
    return readDriftBaseline(await readObject(uri), `baseline ${uri}`);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Loads the model a champion pointer (`champion/<dataset>/champion.json`, written by the retraining FinishDeploy)
 * names: its artifact, feature spec, version and SHA-256. Errors name the pointer and the missing field.
 */
export async function loadChampionModel(pointerUri: string): Promise<ScoringModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readObject(pointerUri);
  } catch (error) {
    throw new Error(`champion pointer ${pointerUri} is unreadable: ${(error as Error).message}`, { cause: error });
  }
  const pointer = parseChampionPointer(new TextDecoder().decode(bytes), pointerUri);
  return loadScoringModel({
    modelUri: pointer.modelDataUrl,
    featureSpecUri: pointer.featureSpecUri,
    modelVersion: pointer.modelVersion,
    modelSha256: pointer.modelSha256,
    baselineUri: pointer.baselineUri,
  });
}
