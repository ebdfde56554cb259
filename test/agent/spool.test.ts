/**
 * The extract's local spool and its row tests: lines come back in order with their groups as concatenated gzip
 * members, suppression rewrites only the chunks it touches, damage is an error, and row tests count
 * violations without naming values.
 */
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { RowTests } from '../../onprem-agent/extract/data-tests';
import { KAnonymityGroups } from '../../onprem-agent/extract/k-anonymity';
import { lineMember, readSpool, SpoolWriter, withoutGroups } from '../../onprem-agent/extract/spool';

const LINES = [
  'a,1',
  'é,"x,y"', // two-byte UTF-8 and a quoted comma
  '🙂,"line\nbreak"', // a four-byte character and a quoted newline
  'x'.repeat(1_500_000), // longer than any internal block
  '',
  'z,9',
  'last,0',
];

async function spoolOf(lines: readonly string[], groups: readonly number[], chunkRows: number): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'mlp-spool-')), 'spool.bin');
  const writer = new SpoolWriter(path, chunkRows);
  lines.forEach((line, i) => writer.append(groups[i], line));
  await writer.settle();
  await writer.close();
  expect(writer.records).toBe(lines.length);
  return path;
}

const groupsOf = (n: number) => Array.from({ length: n }, (_, i) => i % 3);

test('a spool returns every line in order, chunk by chunk, with its group', async () => {
  const path = await spoolOf(LINES, groupsOf(LINES.length), 3);
  const chunks = [...readSpool(path)];
  expect(chunks.map((c) => c.rows)).toEqual([3, 3, 1]);
  const text = Buffer.concat(chunks.map((c) => c.member));
  expect(gunzipSync(text).toString('utf8')).toBe(LINES.map((l) => `${l}\n`).join(''));
  expect(chunks.flatMap((c) => Array.from(c.groups))).toEqual(groupsOf(LINES.length));
  expect(chunks.flatMap((c) => Array.from(c.lengths))).toEqual(LINES.map((l) => Buffer.byteLength(l)));
});

test('suppression rewrites only the chunks holding a suppressed group, and drops a chunk it empties', async () => {
  const groups = [0, 0, 1, 2, 2, 2, 0];
  const path = await spoolOf(LINES, groups, 3);
  const chunks = [...readSpool(path)];
  const kept = chunks.map((c) => withoutGroups(c, new Set([1])));
  expect(kept[1]!.member).toBe(chunks[1].member); // untouched chunk: the same bytes
  expect(kept.map((k) => k?.rows)).toEqual([2, 3, 1]);
  const text = gunzipSync(Buffer.concat(kept.map((k) => k!.member))).toString('utf8');
  expect(text).toBe(
    LINES.filter((_, i) => groups[i] !== 1)
      .map((l) => `${l}\n`)
      .join(''),
  );
  expect(withoutGroups(chunks[2], new Set([0]))).toBeUndefined();
  expect(gunzipSync(Buffer.concat([lineMember('h1,h2'), kept[0]!.member])).toString('utf8')).toBe(
    'h1,h2\na,1\né,"x,y"\n',
  );
});

test('a truncated or damaged spool is an error, never fewer rows', async () => {
  const path = await spoolOf(LINES.slice(0, 3), [0, 1, 2], 2);
  const size = readFileSync(path).length;
  truncateSync(path, size - 5);
  expect(() => [...readSpool(path)]).toThrow(/truncated/);
  truncateSync(path, 6);
  expect(() => [...readSpool(path)]).toThrow(/truncated/);
  const damaged = await spoolOf(['a', 'b'], [0, 0], 2);
  const bytes = readFileSync(damaged);
  bytes[bytes.length - 12] ^= 0xff; // inside the gzip member
  writeFileSync(damaged, bytes);
  expect(() => withoutGroups([...readSpool(damaged)][0], new Set([0]))).toThrow();
});

describe('row tests', () => {
  const columns = ['id', 'flag', 'rate', 'name'];
  const tests = new RowTests(
    [
      { test: 'not-null', column: 'id' },
      { test: 'unique', column: 'id' }, // runs in the database, never here
      { test: 'accepted-values', column: 'flag', values: [0, 1] },
      { test: 'range', column: 'rate', min: 0, max: 1 },
    ],
    columns,
  );

  test('count violations per test and report them without values', () => {
    const rows: unknown[][] = [
      [1, 0, 0.5, 'secret-a'],
      [2, 1, 0, 'secret-b'],
      [3, '1', 1, null], // "1" is accepted: values compare as text
      [null, 2, 1.5, 'secret-c'], // null id, flag 2, rate above the range
      [5, null, null, 'secret-d'], // nulls pass accepted-values and range
      [6, 1, 'high', 'secret-e'], // a rate that is not a number is outside any range
      [7, 1, Number.NaN, 'secret-f'],
      [8, 1n, 1n, 'secret-g'],
    ];
    for (const row of rows) tests.check(row);
    const failures = tests.failures();
    expect(failures).toEqual([
      'not-null on id: 1 violating row(s)',
      'accepted-values on flag: 1 violating row(s)',
      'range on rate: 3 violating row(s)',
    ]);
    expect(failures.join(' ')).not.toMatch(/secret|high|1\.5/);
  });
});

describe('k-anonymity groups', () => {
  const upper = (v: unknown) => (v === null ? null : String(v).toUpperCase());

  test('groups smaller than k are reported with their rows; a written-out field is not transformed again', () => {
    let calls = 0;
    const groups = new KAnonymityGroups([
      { transform: () => (calls++, 'unused'), column: 0, output: 0 }, // written out: taken from the fields
      { transform: upper, column: 1, output: -1 }, // not written out: transformed from the row
    ]);
    const rows: [unknown[], (string | null)[]][] = [
      [['a', 'x'], ['30-39']],
      [['b', 'x'], ['30-39']],
      [['c', 'y'], ['30-39']],
      [['d', null], [null]],
    ];
    const ids = rows.map(([row, fields]) => groups.add(row, fields));
    expect(ids).toEqual([0, 0, 1, 2]);
    expect(calls).toBe(0);
    const small = groups.smallerThan(2);
    expect([...small.suppressed].sort()).toEqual([1, 2]);
    expect(small.rows).toBe(2);
    expect(groups.smallerThan(1).rows).toBe(0);
  });

  test('without quasi-identifiers nothing is ever suppressed', () => {
    const groups = new KAnonymityGroups([]);
    expect(groups.add(['a'], ['a'])).toBe(0);
    expect(groups.smallerThan(1_000)).toEqual({ suppressed: new Set(), rows: 0 });
  });
});
