import { readFileSync } from 'node:fs';
import { ModelFormatError } from '../../lambdas/xgboost/model-error';
import { SUPPORTED_OBJECTIVES } from '../../lambdas/xgboost/objective';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { detectModelFormat, readModel } from '../../lambdas/xgboost/read-model';
import { rowsAsMatrix, xgboostFixtures } from '../support/xgboost-fixtures';

const fixtures = xgboostFixtures();
const formats = fixtures.cases.flatMap((c) => Object.keys(c.files).map((format) => [c.name, format] as const));

test('fixtures come from XGBoost 1.7.4, the version of SageMaker built-in XGBoost 1.7-1', () => {
  expect(fixtures.xgboost).toBe('1.7.4');
  // Every objective the reader accepts is checked against XGBoost's own output.
  expect(fixtures.cases.map((c) => c.objective).sort()).toEqual(expect.arrayContaining([...SUPPORTED_OBJECTIVES]));
});

describe.each(formats)('%s (%s)', (name, format) => {
  const fixture = fixtures.cases.find((c) => c.name === name)!;
  const bytes = readFileSync(fixture.files[format]);
  const predictor = new Predictor(readModel(bytes));
  const x = rowsAsMatrix(fixture.rows, predictor.numFeature);
  const rows = fixture.rows.length;

  test('is read as the right format and objective', () => {
    expect(detectModelFormat(bytes)).toBe({ bin: 'binary', json: 'json', ubj: 'ubjson', tar: 'tar.gz' }[format]);
    expect(predictor.model.objective).toBe(fixture.objective);
    expect(predictor.model.numTrees).toBe(fixture.num_trees);
  });

  test('raw margins equal XGBoost predict(output_margin=True) bit for bit', () => {
    const margins = predictor.predictMargin(x, rows, new Float32Array(rows * predictor.numGroup));
    const bits = Array.from(new Uint32Array(margins.buffer));
    expect(bits).toEqual(fixture.margin_bits.flat());
  });

  test('single-row scoring gives the same bits as the batch', () => {
    for (let r = 0; r < rows; r += 7) {
      const margins = predictor.predictMarginRow(x.subarray(r * predictor.numFeature, (r + 1) * predictor.numFeature));
      expect(Array.from(new Uint32Array(margins.slice().buffer))).toEqual(fixture.margin_bits[r]);
    }
  });

  test('transformed predictions are within 1e-7 of XGBoost predict()', () => {
    const out = predictor.predict(x, rows, new Float64Array(rows * predictor.outputWidth));
    const expected = fixture.pred.flat();
    expect(out.length).toBe(expected.length);
    expected.forEach((v, i) => expect(Math.abs(out[i] - v)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(v))));
  });
});

test.each(Object.entries(fixtures.gblinear))('a gblinear model (%s) is rejected by name', (_format, path) => {
  expect(() => readModel(readFileSync(path))).toThrow(
    new ModelFormatError('gblinear models are not supported: only tree boosters'),
  );
});
