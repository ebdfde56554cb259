/**
 * The model reader never crashes, hangs or silently accepts a damaged file: truncations always fail with a
 * ModelFormatError; bit flips either fail that way or, where the format has no checksum (a flipped bit
 * inside a float), yield a structurally sound model — and with the registry's SHA-256 they always fail.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ModelFormatError } from '../../lambdas/xgboost/model-error';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { tarOf } from '../support/tar';
import { rowsAsMatrix, xgboostFixtures } from '../support/xgboost-fixtures';

const fixtures = xgboostFixtures();
const models = ['multi_softprob', 'dart', 'categorical'].flatMap((name) => {
  const fixture = fixtures.cases.find((c) => c.name === name)!;
  return Object.entries(fixture.files).map(([format, path]) => ({ name, format, fixture, bytes: readFileSync(path) }));
});

/** Deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

function expectModelError(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFormatError);
    return;
  }
  throw new Error('expected a ModelFormatError');
}

describe.each(models.map((m) => [`${m.name} (${m.format})`, m] as const))('%s', (_label, { bytes, fixture }) => {
  test('every truncation is rejected with a ModelFormatError', () => {
    const step = Math.max(1, Math.floor(bytes.length / 400));
    for (let length = 0; length < bytes.length; length += step)
      expectModelError(() => readModel(bytes.subarray(0, length)));
    expectModelError(() => readModel(bytes.subarray(0, bytes.length - 1)));
  });

  test('bit flips fail cleanly or leave a sound, terminating model; with the SHA-256 they always fail', () => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const random = prng(bytes.length);
    const x = rowsAsMatrix(fixture.rows.slice(0, 20), readModel(bytes).numFeature);
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const damaged = Uint8Array.from(bytes);
      const position = Math.floor(random() * damaged.length);
      damaged[position] ^= 1 << Math.floor(random() * 8);
      expectModelError(() => readModel(damaged, { sha256 }));
      let predictor: Predictor;
      try {
        predictor = new Predictor(readModel(damaged));
      } catch (error) {
        expect(error).toBeInstanceOf(ModelFormatError);
        rejected++;
        continue;
      }
      // A model the reader accepts is sound: every walk ends, and the batch and the single-row evaluators
      // (different code over the same layout) agree bit for bit on every row.
      const g = predictor.numGroup;
      const f = predictor.numFeature;
      const batch = new Uint32Array(predictor.predictMargin(x, 20, new Float32Array(20 * g)).buffer);
      for (let r = 0; r < 20; r++) {
        const row = new Uint32Array(
          Float32Array.from(predictor.predictMarginRow(x.subarray(r * f, (r + 1) * f))).buffer,
        );
        expect({ flip: i, row: r, bits: Array.from(row) }).toEqual({
          flip: i,
          row: r,
          bits: Array.from(batch.subarray(r * g, (r + 1) * g)),
        });
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});

test('unknown magic bytes are named in the error', () => {
  expect(() => readModel(Buffer.from('PK\u0003\u0004zipfile'))).toThrow(
    /unknown model format \(first bytes 50 4b 03 04\); expected model.tar.gz, XGBoost binary \(binf\), JSON or UBJSON/,
  );
  expect(() => readModel(Buffer.alloc(1))).toThrow(/model file too short/);
});

test('a tar.gz without xgboost-model names what it found', () => {
  const notes = Buffer.from('hello');
  expect(() => readModel(gzipSync(tarOf([['notes.txt', notes]])))).toThrow(/unknown model format/);
  expect(() =>
    readModel(
      gzipSync(
        tarOf([
          ['notes.txt', notes],
          ['readme.md', notes],
        ]),
      ),
    ),
  ).toThrow(/model.tar.gz has no xgboost-model file \(found: notes.txt, readme.md\)/);
});
