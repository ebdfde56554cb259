/**
 * Trains the XGBoost fixture models with Debian's python3-xgboost 1.7.4 (the version SageMaker's built-in
 * XGBoost 1.7-1 runs) and loads what XGBoost itself predicted for them. Fails loudly when XGBoost is absent:
 * parity is never checked against typed-in numbers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
// Debian's python3-xgboost lives under /usr/bin/python3 (the pyenv python3 on PATH does not see it).
import { SYSTEM_PYTHON } from '../../local/local-training';

/** One trained model and XGBoost's own outputs for its test rows. */
export interface XgbCase {
  readonly name: string;
  readonly objective: string;
  /** Paths by format: bin (legacy binary), json, ubj, tar (model.tar.gz holding xgboost-model). */
  readonly files: Readonly<Record<string, string>>;
  /** Feature rows; null = missing. */
  readonly rows: ReadonlyArray<ReadonlyArray<number | null>>;
  /** XGBoost's output_margin=True predictions as float32 bit patterns, per row and group. */
  readonly margin_bits: ReadonlyArray<ReadonlyArray<number>>;
  /** XGBoost's transformed predictions. */
  readonly pred: ReadonlyArray<ReadonlyArray<number>>;
  readonly num_trees: number;
  /** XGBoost's `get_score(importance_type="weight")`: splits per feature name (f0, f1, …), unused ones absent. */
  readonly weight: Readonly<Record<string, number>>;
  /** XGBoost's `pred_contribs=True` per row: per group one value per feature then the bias, groups concatenated. */
  readonly contribs: ReadonlyArray<ReadonlyArray<number>>;
}

/** All fixtures of one training run. */
export interface XgbFixtures {
  readonly xgboost: string;
  readonly cases: readonly XgbCase[];
  /** gblinear model files by format, which the reader must reject. */
  readonly gblinear: Readonly<Record<string, string>>;
}

let cached: XgbFixtures | undefined;

/** Trains the fixtures once per test worker. */
export function xgboostFixtures(): XgbFixtures {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'mlp-xgb-'));
  const script = resolve(__dirname, '..', 'fixtures', 'xgboost_models.py');
  const result = spawnSync(SYSTEM_PYTHON, [script, dir], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `training XGBoost fixtures failed (is python3-xgboost installed? apt-get install python3-xgboost):\n` +
        (result.error?.message ?? result.stderr ?? `killed by ${result.signal}`),
    );
  }
  cached = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as XgbFixtures;
  return cached;
}

/** A case's rows as one row-major float32 matrix (NaN = missing). */
export function rowsAsMatrix(rows: XgbCase['rows'], numFeature: number): Float32Array {
  const x = new Float32Array(rows.length * numFeature);
  rows.forEach((row, r) => row.forEach((v, j) => (x[r * numFeature + j] = v === null ? Number.NaN : v)));
  return x;
}

/**
 * XGBoost 1.7.4's own `pred_contribs=True` for rows of a model file (row-major float32, NaN = missing): per row,
 * per group one value per feature then the bias, groups concatenated.
 */
export function xgboostContribs(modelPath: string, x: Float32Array, numFeature: number): number[][] {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-contribs-'));
  const rows = join(dir, 'rows.f32');
  writeFileSync(rows, x);
  const script = [
    'import sys, json, numpy as np, xgboost as xgb',
    'bst = xgb.Booster(model_file=sys.argv[1])',
    'x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, int(sys.argv[3]))',
    'c = bst.predict(xgb.DMatrix(x, missing=np.nan), pred_contribs=True).astype(np.float64)',
    'print(json.dumps(c.reshape(len(x), -1).tolist()))',
  ].join('\n');
  const result = spawnSync(SYSTEM_PYTHON, ['-c', script, modelPath, rows, String(numFeature)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`XGBoost pred_contribs failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as number[][];
}
