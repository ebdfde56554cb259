/** A scorer without MODEL_URI follows the champion pointer that the retraining FinishDeploy writes. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numericSpec } from '../../lambdas/features/feature-spec';
import { loadChampionModel } from '../../lambdas/scorer/scoring-model';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { xgboostFixtures } from '../support/xgboost-fixtures';

const binary = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
const dir = mkdtempSync(join(tmpdir(), 'mlp-pointer-'));
const model = readFileSync(binary.files.tar);
const specPath = join(dir, 'feature-spec.json');
writeFileSync(specPath, JSON.stringify(numericSpec(new Predictor(readModel(model)).numFeature)));
const pointer = {
  modelVersion: 'mlp-dev-loans/3',
  modelDataUrl: binary.files.tar,
  featureSpecUri: specPath,
  modelSha256: createHash('sha256').update(model).digest('hex'),
};
const write = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

test('the pointer names the model, its spec, its version and its checksum', async () => {
  const loaded = await loadChampionModel(write('champion.json', pointer));
  expect(loaded.version).toBe('mlp-dev-loans/3');
  expect(loaded.vectorizer.width).toBe(loaded.predictor.numFeature);
});

test('a pointer without a field, a wrong checksum or an unreadable pointer fails naming the problem', async () => {
  const { modelSha256: _, ...noChecksum } = pointer;
  await expect(loadChampionModel(write('a.json', noChecksum))).rejects.toThrow(/has no modelSha256/);
  await expect(loadChampionModel(write('b.json', { ...pointer, modelSha256: '0'.repeat(64) }))).rejects.toThrow(
    /checksum mismatch/,
  );
  await expect(loadChampionModel(join(dir, 'missing.json'))).rejects.toThrow(/champion pointer .* is unreadable/);
});
