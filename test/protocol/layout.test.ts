/**
 * The layout keeps its promises (redesign issue): protocol/ is platform-neutral, the daemon's
 * modules import each other without cycles, the engine depends on nothing above it, and legacy/
 * and live/ never reach into services. Checked on the built modules' static value imports (type
 * imports are erased by the compiler, so they cannot create a cycle at run time).
 */
import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../', import.meta.url));

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return jsFiles(p);
    return p.endsWith('.js') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

function localImports(file: string): string[] {
  return imports(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s));
}

describe('code layout', () => {
  test('protocol/ (outside protocol/node/) imports nothing but itself, vscode-jsonrpc and zod: no Node built-ins', () => {
    const dir = join(DIST, 'protocol');
    for (const file of readdirSync(dir).filter((n) => n.endsWith('.js')).map((n) => join(dir, n))) {
      for (const spec of imports(file)) {
        const ok = (spec.startsWith('./') && !spec.includes('/node/')) || spec === 'vscode-jsonrpc' || spec === 'zod';
        expect({ file: relative(DIST, file), spec, ok }).toEqual({ file: relative(DIST, file), spec, ok: true });
      }
    }
  });

  test("the daemon's modules have no import cycle", () => {
    const files = jsFiles(join(DIST, 'daemon'));
    const graph = new Map(files.map((f) => [f, localImports(f).filter((t) => t.startsWith(join(DIST, 'daemon')))]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(DIST, p)).join(' → '));
        return;
      }
      state.set(f, 'visiting');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test('engine/ depends on nothing above it; legacy/, live/ and store/ never import services/', () => {
    const above = (file: string, folders: string[]) =>
      localImports(file).filter((t) => folders.some((d) => t.startsWith(join(DIST, 'daemon', d) + '/'))).map((t) => relative(DIST, t));
    for (const f of jsFiles(join(DIST, 'daemon', 'engine'))) expect(above(f, ['services', 'runtime', 'store', 'live', 'legacy'])).toEqual([]);
    for (const d of ['legacy', 'live', 'store']) {
      for (const f of jsFiles(join(DIST, 'daemon', d))) expect(above(f, ['services'])).toEqual([]);
    }
  });
});
