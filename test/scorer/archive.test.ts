import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { extractModelFromTar, extractModelFromTarGz } from '../../lambdas/xgboost/archive';
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
