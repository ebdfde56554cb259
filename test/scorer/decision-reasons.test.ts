/**
 * Reason codes: a decision's adverse reasons are the features whose XGBoost pred_contribs (XGBoost 1.7.4's own,
 * computed here) push the score the adverse way, strongest first, a one-hot feature's columns summed into that
 * feature, mapped through the model's reason-code table; the scorer answers them on `explain: true`, and what
 * keeps a model from explaining (no table, a table missing a feature, no covers, no class named) is named.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SPEC_FORMAT, FeatureSpecError, parseFeatureSpec } from '../../lambdas/features/feature-spec';
import { createScoringHandler } from '../../lambdas/scorer/handler';
import { MAX_EXPLAINED_RECORDS } from '../../lambdas/scorer/request';
import { loadScoringModel, type ScoringModel } from '../../lambdas/scorer/scoring-model';
import { captureOutput } from '../support/capture-output';
import { context } from '../support/lambda-context';
import { xgboostContribs, xgboostFixtures } from '../support/xgboost-fixtures';

const fixtures = xgboostFixtures();
const binary = fixtures.cases.find((c) => c.name === 'binary_logistic')!;
const softprob = fixtures.cases.find((c) => c.name === 'multi_softprob')!;
const dir = mkdtempSync(join(tmpdir(), 'mlp-reasons-'));
const NUMERIC = Array.from({ length: 12 }, (_, i) => `f${i}`);

const reasonsFor = (names: readonly string[]) =>
  Object.fromEntries(names.map((name, i) => [name, { code: `R${String(i).padStart(2, '0')}`, text: `${name} text` }]));

function writeSpec(name: string, spec: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ format: FEATURE_SPEC_FORMAT, ...spec }));
  return path;
}

const numericSpec = (explanations: Record<string, unknown> | undefined) =>
  writeSpec(`numeric-${Math.random()}.json`, {
    features: NUMERIC.map((name) => ({ name, type: 'numeric' })),
    ...(explanations ? { explanations } : {}),
  });

const recordOf = (row: ReadonlyArray<number | null>) => Object.fromEntries(row.map((v, i) => [`f${i}`, v]));

/** The expected reasons of one row from XGBoost's contributions per feature. */
function expectedReasons(perFeature: readonly number[], names: readonly string[], sign: 1 | -1, k: number) {
  const table = reasonsFor(names);
  return perFeature
    .map((contribution, f) => ({ f, contribution }))
    .filter(({ contribution }) => sign * contribution > 0)
    .sort((a, b) => sign * (b.contribution - a.contribution))
    .slice(0, k)
    .map(({ f }) => ({ feature: names[f], ...table[names[f]] }));
}

describe('adverse reasons against XGBoost pred_contribs', () => {
  test.each([
    ['higher', 1, 4],
    ['higher', 1, 12],
    ['lower', -1, 3],
  ] as const)(
    'adverse %s, %d-signed, top %d: the features pushing that way, strongest first',
    async (adverse, sign, k) => {
      const model = await loadScoringModel({
        modelUri: binary.files.tar,
        featureSpecUri: numericSpec({ adverse, reasons: reasonsFor(NUMERIC) }),
      });
      expect(model.explainProblem).toBeNull();
      const records = binary.rows.map(recordOf);
      const explained = model.explain(records, k);
      let nonEmpty = 0;
      explained.forEach((reasons, r) => {
        const perFeature = binary.contribs[r].slice(0, NUMERIC.length);
        const expected = expectedReasons(perFeature, NUMERIC, sign, k);
        // Near-ties (within rounding) may rank either way: compare the contributions, then the set.
        reasons.forEach((reason, i) => {
          expect(Math.abs(reason.contribution - perFeature[NUMERIC.indexOf(reason.feature)])).toBeLessThan(1e-5);
          expect(sign * reason.contribution).toBeGreaterThan(0);
          if (i > 0) expect(sign * reason.contribution).toBeLessThanOrEqual(sign * reasons[i - 1].contribution);
        });
        expect(reasons.length).toBe(expected.length);
        if (reasons.length > 0) nonEmpty++;
        // The same features, unless XGBoost's float32 sums put the k-th and the next within rounding of each other.
        const ranked = perFeature
          .map((c) => sign * c)
          .filter((c) => c > 0)
          .sort((a, b) => b - a);
        if (!(ranked.length > k && ranked[k - 1] - ranked[k] < 1e-5)) {
          expect(new Set(reasons.map((x) => x.code))).toEqual(new Set(expected.map((x) => x.code)));
        }
      });
      expect(nonEmpty).toBeGreaterThan(binary.rows.length / 2);
    },
  );

  test('a one-hot feature is one reason: its columns summed, as XGBoost attributes them', async () => {
    const numeric = NUMERIC.slice(0, 10);
    const names = [...numeric, 'segment'];
    const specPath = writeSpec('one-hot.json', {
      features: [
        ...numeric.map((name) => ({ name, type: 'numeric' })),
        { name: 'segment', type: 'categorical', encoding: 'one-hot', categories: ['retail', 'sme'] },
      ],
      explanations: { adverse: 'higher', reasons: reasonsFor(names) },
    });
    const model = await loadScoringModel({ modelUri: binary.files.tar, featureSpecUri: specPath });
    const segments = ['retail', 'sme', null];
    const records = binary.rows.slice(0, 60).map((row, r) => ({
      ...Object.fromEntries(row.slice(0, 10).map((v, i) => [numeric[i], v])),
      segment: segments[r % 3],
    }));
    // The vectors the spec builds, explained by XGBoost itself.
    const x = new Float32Array(records.length * 12);
    records.forEach((record, r) => model.vectorizer.fill(record, r, x, r * 12));
    const theirs = xgboostContribs(binary.files.json, x, 12);
    const explained = model.explain(records, names.length);
    let segmentSeen = 0;
    explained.forEach((reasons, r) => {
      const perFeature = [...theirs[r].slice(0, 10), theirs[r][10] + theirs[r][11]];
      const expected = expectedReasons(perFeature, names, 1, names.length);
      expect(new Set(reasons.map((x) => x.feature))).toEqual(new Set(expected.map((x) => x.feature)));
      for (const reason of reasons) {
        expect(Math.abs(reason.contribution - perFeature[names.indexOf(reason.feature)])).toBeLessThan(1e-5);
      }
      if (reasons.some((x) => x.feature === 'segment')) segmentSeen++;
      expect(reasons.some((x) => x.feature.includes('='))).toBe(false);
    });
    expect(segmentSeen).toBeGreaterThan(0);
  });

  test('a multi-class model explains the class its table names, and refuses to guess one', async () => {
    const withClass = await loadScoringModel({
      modelUri: softprob.files.json,
      featureSpecUri: numericSpec({ adverse: 'higher', class: 2, reasons: reasonsFor(NUMERIC) }),
    });
    const width = NUMERIC.length + 1;
    const explained = withClass.explain(softprob.rows.map(recordOf), NUMERIC.length);
    explained.forEach((reasons, r) => {
      const perFeature = softprob.contribs[r].slice(2 * width, 2 * width + NUMERIC.length);
      expect(new Set(reasons.map((x) => x.feature))).toEqual(
        new Set(expectedReasons(perFeature, NUMERIC, 1, NUMERIC.length).map((x) => x.feature)),
      );
    });
    const noClass = await loadScoringModel({
      modelUri: softprob.files.json,
      featureSpecUri: numericSpec({ adverse: 'higher', reasons: reasonsFor(NUMERIC) }),
    });
    expect(noClass.explainProblem).toBe('the model has 3 classes: its explanations must name the class they explain');
    const tooHigh = await loadScoringModel({
      modelUri: softprob.files.json,
      featureSpecUri: numericSpec({ adverse: 'higher', class: 3, reasons: reasonsFor(NUMERIC) }),
    });
    expect(tooHigh.explainProblem).toBe('explanations.class is 3, the model has 3 output(s)');
    // Scoring is unaffected.
    expect(noClass.score([recordOf(softprob.rows[0])])).toHaveLength(1);
  });
});

describe('reason-code tables that do not fit the model', () => {
  test('a table missing a feature, or naming one the spec lacks, is refused by name', () => {
    const features = NUMERIC.map((name) => ({ name, type: 'numeric' }));
    const missing = { ...reasonsFor(NUMERIC) } as Record<string, unknown>;
    delete missing.f3;
    delete missing.f9;
    expect(() =>
      parseFeatureSpec({
        format: FEATURE_SPEC_FORMAT,
        features,
        explanations: { adverse: 'higher', reasons: missing },
      }),
    ).toThrow(
      new FeatureSpecError(
        'invalid feature spec: explanations.reasons: the reason-code table does not cover feature(s) f3, f9',
      ),
    );
    const extra = { ...reasonsFor(NUMERIC), income: { code: 'INC', text: 'Income' } };
    expect(() =>
      parseFeatureSpec({ format: FEATURE_SPEC_FORMAT, features, explanations: { adverse: 'higher', reasons: extra } }),
    ).toThrow('the reason-code table names feature(s) the model does not have: income');
    const badCode = { ...reasonsFor(NUMERIC), f0: { code: 'no spaces', text: 'x' } };
    expect(() =>
      parseFeatureSpec({
        format: FEATURE_SPEC_FORMAT,
        features,
        explanations: { adverse: 'higher', reasons: badCode },
      }),
    ).toThrow('explanations.reasons.f0.code');
  });
});

describe('the scorer on explain: true', () => {
  const handlerOf = (load: () => Promise<ScoringModel>) => {
    let model: Promise<ScoringModel> | undefined;
    return createScoringHandler(() => (model ??= load())) as unknown as (
      event: unknown,
      ctx: typeof context,
    ) => Promise<Record<string, unknown>>;
  };
  const explaining = handlerOf(() =>
    loadScoringModel({
      modelUri: binary.files.tar,
      modelVersion: 'loans-9',
      featureSpecUri: numericSpec({ adverse: 'higher', reasons: reasonsFor(NUMERIC) }),
    }),
  );

  test("answers each record with the model's own reasons beside the predictions (the plumbing), and counts them", async () => {
    const records = binary.rows.slice(0, 5).map(recordOf);
    const { result, output } = await captureOutput(() => explaining({ records, explain: true, reasons: 2 }, context));
    const model = await loadScoringModel({
      modelUri: binary.files.tar,
      featureSpecUri: numericSpec({ adverse: 'higher', reasons: reasonsFor(NUMERIC) }),
    });
    expect(result).toEqual({
      modelVersion: 'loans-9',
      requestId: context.awsRequestId,
      predictions: model.score(records),
      explanations: model.explain(records, 2).map((reasons) => ({ reasons })),
    });
    expect((result.explanations as { reasons: unknown[] }[]).every((e) => e.reasons.length <= 2)).toBe(true);
    expect(output).toContain('"Explained":5');
    // Not asked: no explanations.
    const plain = await captureOutput(() => explaining({ records }, context));
    expect(plain.result).not.toHaveProperty('explanations');
  });

  test(`more than ${MAX_EXPLAINED_RECORDS} records with explain: true is 413`, async () => {
    const records = Array.from({ length: MAX_EXPLAINED_RECORDS + 1 }, () => ({ f0: 1 }));
    const { result } = await captureOutput(() => explaining({ records, explain: true }, context));
    expect(result).toMatchObject({
      statusCode: 413,
      error: `a request with explain: true holds at most ${MAX_EXPLAINED_RECORDS} records`,
    });
  });

  test.each([
    [
      'without a reason-code table',
      () => ({ featureSpecUri: numericSpec(undefined), modelUri: binary.files.tar }),
      "this model cannot explain its decisions: the model's feature spec holds no reason-code table (explanations)",
    ],
    [
      'without node covers',
      () => {
        const document = JSON.parse(readFileSync(binary.files.json, 'utf8'));
        for (const tree of document.learner.gradient_booster.model.trees) delete tree.sum_hessian;
        const modelUri = join(dir, 'no-covers.json');
        writeFileSync(modelUri, JSON.stringify(document));
        return { modelUri, featureSpecUri: numericSpec({ adverse: 'higher', reasons: reasonsFor(NUMERIC) }) };
      },
      'this model cannot explain its decisions: the model file holds no node covers (sum_hessian): its predictions cannot be explained',
    ],
  ])('a model %s answers explain: true with 501 naming why, and still scores', async (_label, source, message) => {
    const handler = handlerOf(() => loadScoringModel(source()));
    const record = recordOf(binary.rows[0]);
    const { result } = await captureOutput(() => handler({ record, explain: true }, context));
    expect(result).toEqual({ statusCode: 501, error: message, requestId: context.awsRequestId });
    const scored = await captureOutput(() => handler({ record }, context));
    expect(scored.result.predictions).toHaveLength(1);
  });
});
