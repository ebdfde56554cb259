/** What `.ci/run` installs on a fresh machine, read from the script itself. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

/** The Debian packages `.ci/run` installs: its `DEBIAN_PACKAGES=(…)` line. */
export function ciDebianPackages(): string[] {
  const match = /^DEBIAN_PACKAGES=\(([^)]*)\)$/m.exec(readFileSync(join(root, '.ci', 'run'), 'utf8'));
  if (!match) throw new Error('.ci/run has no DEBIAN_PACKAGES=(...) line');
  return match[1].trim().split(/\s+/);
}
