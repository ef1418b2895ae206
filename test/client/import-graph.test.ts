/**
 * The client's start-up stays minimal (issue 7): what `orch` loads is what it costs. Checked three
 * ways: the bundle's inputs (esbuild's metafile), the static import graph of the unbundled entry,
 * and what a real `orch status` against a running daemon loads (modules from disk and Node's
 * built-ins, recorded by a preloaded tracer).
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { orchEnv, runOrch } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const PROJECT = fileURLToPath(new URL('../../../', import.meta.url));
const CLIENT = join(PROJECT, 'dist', 'client');
const LOADER = join(CLIENT, 'orch.cjs');
const BUNDLE = join(CLIENT, 'orch.bundle.cjs');
const META = join(CLIENT, 'orch.meta.json');

/** Daemon-side dependencies: none of them may reach the client. */
const DAEMON_PACKAGES = ['pino', 'chokidar', 'yaml', 'write-file-atomic', 'lossless-json', 'async-mutex', 'nanoid', 'shell-quote'];
/** Built-ins a warm `orch status` has no use for (the loader makes crypto, child_process and os lazy). */
const UNNEEDED_BUILTINS = ['crypto', 'child_process', 'os', 'worker_threads', 'zlib', 'http', 'https', 'tls', 'dns', 'readline', 'inspector'];

const { repo } = useRepoRegistry();

function builtBundle(): { inputs: string[] } {
  if (!existsSync(LOADER) || !existsSync(META)) throw new Error(`${relative(PROJECT, LOADER)} is missing: run npm run build (tsc alone does not bundle).`);
  const meta = JSON.parse(readFileSync(META, 'utf8')) as { inputs: Record<string, unknown> };
  return { inputs: Object.keys(meta.inputs).map((p) => resolve(PROJECT, p)) };
}

/** Static imports (`import … from`, `export … from`, bare `import '…'`) of one built ES module. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    if (!/^\s*(?:import|export)\s+type\s/.test(m[0])) specs.push(m[1] as string);
  }
  return specs;
}

/** Every module cli.js loads before it runs a command: the static import closure. */
function startupGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
    }
  };
  visit(entry);
  return { files: [...files], packages: [...packages] };
}

const TRACER = `
process.once('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  require('node:fs').writeFileSync(process.env.ORCH_TRACE_OUT, JSON.stringify({ files: Object.keys(require.cache), builtins }));
});
`;

/** Runs the installed entry with the tracer preloaded; returns what it loaded and its output. */
function traced(args: string[], cwd: string, cacheDir: string, input?: string): { code: number | null; stdout: string; stderr: string; files: string[]; builtins: string[] } {
  const tracer = join(cacheDir, 'tracer.cjs');
  const out = join(cacheDir, 'trace.json');
  writeFileSync(tracer, TRACER);
  const env = orchEnv({ ORCH_DAEMON: '1', ORCH_CACHE_DIR: cacheDir, ORCH_TRACE_OUT: out });
  const r = spawnSync(process.execPath, ['--require', tracer, LOADER, ...args], { cwd, env, encoding: 'utf8', timeout: 30_000, input });
  const trace = JSON.parse(readFileSync(out, 'utf8')) as { files: string[]; builtins: string[] };
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, files: trace.files.filter((f) => f !== tracer), builtins: trace.builtins };
}

describe('the client import graph', () => {
  test('the bundle holds only client and protocol code and vscode-jsonrpc: no daemon code, no other package', () => {
    const { inputs } = builtBundle();
    expect(inputs).toContain(join(CLIENT, 'cli.js'));
    const jsonrpc = join(PROJECT, 'node_modules', 'vscode-jsonrpc') + '/';
    const outside = inputs.filter((p) => !p.startsWith(CLIENT + '/') && !p.startsWith(join(PROJECT, 'dist', 'protocol') + '/') && !p.startsWith(jsonrpc));
    expect(outside).toEqual([]);
    expect(inputs.some((p) => p.startsWith(jsonrpc))).toBe(true);
    const bundle = readFileSync(BUNDLE, 'utf8');
    for (const pkg of DAEMON_PACKAGES) expect(bundle).not.toContain(`node_modules/${pkg}/`);
  });

  test('the bundle makes one copy of vscode-jsonrpc\'s exports at start-up, not one per importing module', () => {
    const bundle = readFileSync(BUNDLE, 'utf8');
    // esbuild's CommonJS interop (__toESM) copies the ~120 exports for each ES module that imports the library.
    expect(bundle.match(/__toESM\(require_/g) ?? []).toHaveLength(1);
  });

  test('the bundle is newer than every module it was made from (run npm run build after tsc)', () => {
    const { inputs } = builtBundle();
    const built = statSync(BUNDLE).mtimeMs;
    const stale = inputs.filter((p) => statSync(p).mtimeMs > built).map((p) => relative(PROJECT, p));
    expect(stale).toEqual([]);
  });

  test('cli.js statically imports no daemon module and no package but vscode-jsonrpc', () => {
    const { files, packages } = startupGraph(join(CLIENT, 'cli.js'));
    expect(files.filter((f) => !f.startsWith(CLIENT + '/') && !f.startsWith(join(PROJECT, 'dist', 'protocol') + '/'))).toEqual([]);
    expect(packages.filter((p) => p !== 'vscode-jsonrpc')).toEqual([]);
  });

  test('a warm orch status loads the loader alone from disk, and no built-in it does not use', async () => {
    const r = repo();
    const cacheDir = makeTempDir('orch-cache-');
    try {
      const start = await runOrch(['start', 'Import graph'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
      expect(start.code).toBe(0);
      // The first run writes the code cache, the second reads it: both paths load the same.
      for (let i = 0; i < 2; i++) {
        const t = traced(['status', '--json'], r.root, cacheDir);
        expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: '' });
        expect(JSON.parse(t.stdout)).toMatchObject({ active: true, task: 'Import graph' });
        expect(t.files).toEqual([LOADER]);
        expect(t.builtins.filter((b) => UNNEEDED_BUILTINS.includes(b))).toEqual([]);
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('a warm orch status runs vscode-jsonrpc\'s framing and message types, not createMessageConnection\'s modules', async () => {
    const r = repo();
    const dir = makeTempDir('orch-v8log-');
    try {
      const start = await runOrch(['start', 'Library modules'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
      expect(start.code).toBe(0);
      // V8 logs the first run of every function; the bundle names each library module's wrapper by its path.
      const log = join(dir, 'v8.log');
      const env = orchEnv({ ORCH_DAEMON: '1', ORCH_CODE_CACHE: '0' });
      const run = spawnSync(process.execPath, ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate', LOADER, 'status'], {
        cwd: r.root,
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect({ code: run.status, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/NEXT_ACTION: /);
      const ran = new Set<string>();
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        const m = /^function,first-execution,.*,(node_modules\/vscode-jsonrpc\/lib\/[\w/]+\.js)$/.exec(line);
        if (m) ran.add(m[1] as string);
      }
      expect(ran).toContain('node_modules/vscode-jsonrpc/lib/common/messageReader.js');
      expect(ran).toContain('node_modules/vscode-jsonrpc/lib/common/messages.js');
      for (const heavy of ['connection', 'cancellation', 'linkedMap', 'sharedArrayCancellation']) {
        expect(ran).not.toContain(`node_modules/vscode-jsonrpc/lib/common/${heavy}.js`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a warm orch hook stop (run on every agent stop) loads the loader alone from disk: no MCP SDK, no zod', async () => {
    const r = repo();
    const cacheDir = makeTempDir('orch-cache-');
    try {
      const start = await runOrch(['start', 'Import graph'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
      expect(start.code).toBe(0);
      for (let i = 0; i < 2; i++) {
        const t = traced(['hook', 'stop'], r.root, cacheDir, JSON.stringify({ session_id: 's', stop_hook_active: false }));
        expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: '' });
        expect(JSON.parse(t.stdout)).toMatchObject({ decision: 'block' });
        expect(t.files).toEqual([LOADER]);
        expect(t.builtins.filter((b) => UNNEEDED_BUILTINS.includes(b))).toEqual([]);
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('orch --version loads no built-in it does not use', () => {
    const cacheDir = makeTempDir('orch-cache-');
    try {
      const t = traced(['--version'], cacheDir, cacheDir);
      expect(t.code).toBe(0);
      expect(t.stdout).toMatch(/^orch \d+\.\d+\.\d+/);
      expect(t.files).toEqual([LOADER]);
      expect(t.builtins.filter((b) => UNNEEDED_BUILTINS.includes(b))).toEqual([]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
