import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { extractModelFromTar, extractModelFromTarGz } from '../../lambdas/xgboost/archive';
import { readModel } from '../../lambdas/xgboost/read-model';
import { tarOf } from '../support/tar';
import { xgboostFixtures } from '../support/xgboost-fixtures';

test('extracts xgboost-model from a SageMaker model.tar.gz', () => {
  const fixture = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
  expect(Buffer.from(extractModelFromTarGz(readFileSync(fixture.files.tar)))).toEqual(readFileSync(fixture.files.bin));
});

test('extracts from a tar that is a view into a larger buffer (as pooled Buffers are)', () => {
  const payload = Buffer.from('binf-small-model');
  const tar = tarOf([['xgboost-model', payload]]);
  const pool = new Uint8Array(tar.length + 1000);
  pool.fill(0x41);
  pool.set(tar, 700);
  expect(Buffer.from(extractModelFromTar(pool.subarray(700, 700 + tar.length)))).toEqual(payload);
  expect(Buffer.from(extractModelFromTarGz(gzipSync(tar)))).toEqual(payload);
});

test("legacy files are read at every alignment, and a caller's bytes are never rearranged", () => {
  // The reader uses node records in place when they are 4-byte aligned; a file out of an archive may be
  // shifted into alignment, a caller's buffer is copied instead. Each shift below moves the tree section.
  const fixture = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
  const file = readFileSync(fixture.files.bin);
  const expected = readModel(file);
  for (let shift = 0; shift < 4; shift++) {
    const buffer = new Uint8Array(file.length + shift);
    buffer.set(file, shift);
    const view = buffer.subarray(shift);
    const before = Buffer.from(view);
    const model = readModel(view);
    expect(Buffer.from(view)).toEqual(before);
    expect(model.nodes).toEqual(expected.nodes);
    expect(model.first).toEqual(expected.first);
  }
  // In an archive the file sits at a 512-byte boundary; its tree section is misaligned by the header's length.
  const fromArchive = readModel(gzipSync(tarOf([['xgboost-model', file]])));
  expect(fromArchive.nodes).toEqual(expected.nodes);
  expect(fromArchive.first).toEqual(expected.first);
});
