import { readFileSync } from 'node:fs';
import { FEATURE_SPEC_FORMAT, numericSpec, parseFeatureSpec, specColumns } from '../../lambdas/features/feature-spec';
import { ScoringModel } from '../../lambdas/scorer/scoring-model';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { xgboostFixtures } from '../support/xgboost-fixtures';

describe('feature spec', () => {
  test('expands one-hot features into one column per category', () => {
    const spec = parseFeatureSpec({
      format: FEATURE_SPEC_FORMAT,
      label: 'default_12m',
      features: [
        { name: 'income', type: 'numeric' },
        { name: 'region', type: 'categorical', encoding: 'one-hot', categories: ['n', 's'] },
        { name: 'segment', type: 'categorical', encoding: 'ordinal', categories: ['a', 'b', 'c'] },
      ],
    });
    expect(specColumns(spec)).toEqual(['income', 'region=n', 'region=s', 'segment']);
  });

  test.each([
    [{ format: 'other', features: [] }, 'format'],
    [
      {
        format: FEATURE_SPEC_FORMAT,
        features: [
          { name: 'a', type: 'numeric' },
          { name: 'a', type: 'numeric' },
        ],
      },
      'features.1.name: is repeated',
    ],
    [
      { format: FEATURE_SPEC_FORMAT, features: [{ name: 'a b', type: 'numeric' }] },
      'features.0.name: must be a simple identifier',
    ],
    [
      {
        format: FEATURE_SPEC_FORMAT,
        features: [{ name: 'r', type: 'categorical', encoding: 'ordinal', categories: ['x', 'x'] }],
      },
      'lists a category twice',
    ],
    [{ format: FEATURE_SPEC_FORMAT, features: [{ name: 'r', type: 'text' }] }, 'features.0'],
  ])('rejects an invalid spec, naming the problem (%#)', (document, message) => {
    expect(() => parseFeatureSpec(document)).toThrow(message);
  });

  test('defaults to numeric features named after the model, or f0…', () => {
    expect(numericSpec(2, ['income', 'age']).features.map((f) => f.name)).toEqual(['income', 'age']);
    expect(numericSpec(2, ['bad name', 'age']).features.map((f) => f.name)).toEqual(['f0', 'f1']);
  });

  test('a spec whose width differs from the model is refused with both numbers', () => {
    const fixture = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
    const predictor = new Predictor(readModel(readFileSync(fixture.files.json)));
    expect(() => new ScoringModel(predictor, numericSpec(11), 'v1')).toThrow(
      'the feature spec yields 11 columns but the model expects 12',
    );
  });
});
