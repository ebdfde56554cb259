import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { extractModelFromTar, extractModelFromTarGz } from '../../lambdas/xgboost/archive';
import { xgboostFixtures } from '../support/xgboost-fixtures';

/** A one-file ustar archive, built by hand so the test controls its size. */
function tarOf(name: string, data: Uint8Array): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\u000000', 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  body.set(data);
  return Buffer.concat([header, body, Buffer.alloc(1024)]);
}

test('extracts xgboost-model from a SageMaker model.tar.gz', () => {
  const fixture = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
  expect(Buffer.from(extractModelFromTarGz(readFileSync(fixture.files.tar)))).toEqual(readFileSync(fixture.files.bin));
});

test('extracts from a tar that is a view into a larger buffer (as pooled Buffers are)', () => {
  const payload = Buffer.from('binf-small-model');
  const tar = tarOf('xgboost-model', payload);
  const pool = new Uint8Array(tar.length + 1000);
  pool.fill(0x41);
  pool.set(tar, 700);
  expect(Buffer.from(extractModelFromTar(pool.subarray(700, 700 + tar.length)))).toEqual(payload);
  expect(Buffer.from(extractModelFromTarGz(gzipSync(tar)))).toEqual(payload);
});
