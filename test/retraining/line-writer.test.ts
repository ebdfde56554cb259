/** The channels' line writer: every line whole and in order, whatever its length or alphabet. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLines } from '../../stepfunctions/curated/line-writer';

test.each([16, 64, 1 << 21])(
  'lines across, at and beyond a %i-byte buffer arrive whole and in order',
  async (bytes) => {
    const lines = [
      '',
      'a',
      '0.10000000149011612,1,0,',
      'Zoë Ångström ✓ 名前',
      'x'.repeat(bytes),
      'é'.repeat(bytes),
      '1,2,3',
    ];
    for (let i = 0; i < 200; i++) lines.push(`${i},${'y'.repeat(i % 37)},ü`);
    const path = join(mkdtempSync(join(tmpdir(), 'mlp-lines-')), 'out.csv');
    await writeLines(
      path,
      async (emit) => {
        for (const line of lines) emit(line);
      },
      bytes,
    );
    expect(readFileSync(path, 'utf8')).toBe(`${lines.join('\n')}\n`);
  },
);
