/**
 * A fresh machine has only what `.ci/run` installs. Every module a `.py` file of the repository imports must come
 * from the Python standard library or from a Debian package that `.ci/run` installs (asked of dpkg itself), so a
 * new import cannot pass here on a machine that happens to have the package and fail everywhere else.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ciDebianPackages } from './support/ci-script';

const root = resolve(__dirname, '..');
/** Debian's python, where python3-* packages install (the `python3` first on PATH may be another). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', 'cdk.out', 'dist', '.mlp', 'coverage']);

function pythonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : pythonFiles(join(dir, entry.name));
    return entry.name.endsWith('.py') ? [join(dir, entry.name)] : [];
  });
}

/**
 * For each non-standard top-level module the files import (absolute imports, at any depth of the file): where
 * Debian's python finds it, or null when it does not.
 */
function importedModules(files: string[]): Record<string, { files: string[]; origin: string | null }> {
  const script = `
import ast, importlib.util, json, sys
found = {}
for path in sys.argv[1:]:
    for node in ast.walk(ast.parse(open(path).read(), path)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \\
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names:
                found.setdefault(top, {"files": [], "origin": None})["files"].append(path)
for top, entry in found.items():
    spec = importlib.util.find_spec(top)
    entry["origin"] = (spec.submodule_search_locations[0] if spec.submodule_search_locations else spec.origin) if spec else None
print(json.dumps(found))
`;
  const run = spawnSync(DEBIAN_PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${DEBIAN_PYTHON} could not list the imports: ${run.stderr || run.error}`);
  return JSON.parse(run.stdout) as Record<string, { files: string[]; origin: string | null }>;
}

/** The Debian package that owns a path (dpkg -S), or null. */
function owningPackage(path: string): string | null {
  const run = spawnSync('dpkg', ['-S', path], { encoding: 'utf8' });
  if (run.status !== 0) return null;
  return run.stdout.split(':')[0].trim();
}

test('every module imported by a .py file comes from a Debian package that .ci/run installs', () => {
  const files = pythonFiles(root);
  expect(files.map((f) => relative(root, f))).toContain('local/xgboost_container.py');
  const installed = ciDebianPackages();
  const problems = Object.entries(importedModules(files)).flatMap(([module, { files: users, origin }]) => {
    const where = [...new Set(users.map((f) => relative(root, f)))].join(', ');
    if (!origin) return [`${module} (imported by ${where}) is not installed for ${DEBIAN_PYTHON}`];
    const owner = owningPackage(origin);
    if (!owner) return [`${module} (imported by ${where}) is at ${origin}, which no Debian package owns`];
    if (!installed.includes(owner)) {
      return [`${module} (imported by ${where}) comes from ${owner}, which .ci/run does not install`];
    }
    return [];
  });
  expect(problems).toEqual([]);
});

test('the import check sees third-party modules, and a module no Debian package provides', () => {
  const modules = importedModules([join(root, 'local', 'xgboost_container.py')]);
  expect(Object.keys(modules).sort()).toEqual(['numpy', 'xgboost']);
  expect(owningPackage(modules.xgboost.origin!)).toBe('python3-xgboost');
  expect(owningPackage('/nonexistent/module_nobody_ships.py')).toBeNull();
});
