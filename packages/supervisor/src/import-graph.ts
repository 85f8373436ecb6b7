import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers a module imports (static, re-exports, and literal dynamic imports); `import type` left out. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    if (/^\s*(?:import|export)\s+type\s/.test(m[0].replace(/^[\s;]/, ''))) continue;
    const spec = m[1] ?? m[2];
    if (spec) out.push(spec);
  }
  return out;
}

/** Workspace package name → its entry file (`exports["."]`), from packages/, services/ and cli/. */
export function workspaceEntries(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const group of ['packages', 'services', '.']) {
    const dir = path.join(root, group);
    if (!existsSync(dir)) continue;
    const names = group === '.' ? ['cli', 'test'] : readdirSync(dir);
    for (const name of names) {
      const manifest = path.join(dir, name, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; exports?: Record<string, string> | string };
      const entry = typeof pkg.exports === 'string' ? pkg.exports : pkg.exports?.['.'];
      if (pkg.name && entry) out.set(pkg.name, path.resolve(dir, name, entry));
    }
  }
  return out;
}

const readSource = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The third-party modules the files import (bare specifiers, builtins left out), each with a file importing it. */
export function thirdPartyImports(files: Iterable<string>, workspace: Map<string, string>): Array<{ spec: string; from: string }> {
  const out = new Map<string, { spec: string; from: string }>();
  for (const from of files) {
    for (const spec of importsOf(readSource(from) ?? '')) {
      if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/') || workspace.has(spec)) continue;
      if (!out.has(spec)) out.set(spec, { spec, from });
    }
  }
  return [...out.values()];
}

/**
 * The project's own files a module loads, itself included: relative imports and workspace
 * packages followed, node_modules left out (a dependency changes with the lockfile, not an edit).
 */
export function importClosure(main: string, workspace: Map<string, string>): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    for (const spec of importsOf(readSource(file) ?? '')) {
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else {
        const entry = workspace.get(spec);
        if (entry) visit(entry);
      }
    }
  };
  visit(path.resolve(main));
  return seen;
}
