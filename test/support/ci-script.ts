/** What `.ci/run` installs on a fresh machine, read from the script itself. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

/** The Debian packages `.ci/run` installs: its one `apt-get install … --no-install-recommends …` line. */
export function ciDebianPackages(): string[] {
  const lines = readFileSync(join(root, '.ci', 'run'), 'utf8').match(/^\s*apt-get install .*$/gm) ?? [];
  if (lines.length !== 1) throw new Error(`.ci/run should have one apt-get install line, not ${lines.length}`);
  return lines[0]
    .replace(/>.*$/, '')
    .trim()
    .split(/\s+/)
    .filter((word) => /^[a-z0-9][a-z0-9.+-]+$/.test(word) && !['apt-get', 'install'].includes(word));
}
