#!/usr/bin/env node
'use strict';
/**
 * `orch` as installed (package.json bin → dist/client/orch.cjs, written from this template by
 * scripts/bundle.mjs). It runs the bundled client, orch.bundle.cjs, the way Node 22's
 * module.enableCompileCache would, which Node 20 lacks:
 *
 * - V8's code cache. The bundle is compiled with the bytecode cached by an earlier run of the same
 *   command, so V8 neither parses it nor compiles the functions that command runs. One cache file
 *   per command (status and start run different code; so do the two hooks, which get one each),
 *   named by the bundle's content hash and the Node version, in $ORCH_CACHE_DIR, else
 *   $XDG_CACHE_HOME/orch, else ~/.cache/orch. A missing or rejected cache is written after the
 *   command finished; any cache error just means no cache. ORCH_CODE_CACHE=0 turns it off.
 * - Dynamic imports. The bundle's computed `import(url)`s (the daemon's code, in-process; the MCP
 *   server) are done here, by `orchImport`: scripts compiled from a code cache cannot import on
 *   Node 20.
 * - Lazy built-ins. `node:crypto` and `node:child_process` cost about 2 ms each to load and a warm
 *   `orch status` uses neither (they serve random pipe names in vscode-jsonrpc and spawning the
 *   daemon), nor `node:os` (vscode-jsonrpc's pipe names again, the socket folder of a daemon being
 *   started, the account name): the bundle gets a stand-in that loads the real module on first use.
 */
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, 'orch.bundle.cjs');
/** sha256 of orch.bundle.cjs, filled in by scripts/bundle.mjs; a cache only fits the bundle it was made from. */
const BUNDLE_HASH = '__BUNDLE_HASH__';
const LAZY_BUILTINS = new Set(['crypto', 'node:crypto', 'child_process', 'node:child_process', 'os', 'node:os']);

function lazyRequire(id) {
  if (!LAZY_BUILTINS.has(id)) return require(id);
  let real = null;
  const load = () => (real ??= require(id));
  return new Proxy(
    {},
    {
      get: (_, key) => load()[key],
      has: (_, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key);
        return d && { ...d, configurable: true };
      },
    },
  );
}

function cacheFile(env) {
  if (env.ORCH_CODE_CACHE === '0') return null;
  let dir = env.ORCH_CACHE_DIR;
  if (!dir && env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) dir = path.join(env.XDG_CACHE_HOME, 'orch');
  if (!dir && env.HOME) dir = path.join(env.HOME, '.cache', 'orch');
  if (!dir) return null;
  const arg = process.argv[2] ?? '';
  let command = /^[a-z][a-z-]{0,19}$/.test(arg) ? arg : 'other';
  // The hooks run different code and on every agent stop: one cache each (orch hook stop, …).
  if (command === 'hook' && /^[a-z][a-z-]{0,19}$/.test(process.argv[3] ?? '')) command += `-${process.argv[3]}`;
  return path.join(dir, `client-${BUNDLE_HASH.slice(0, 16)}-${process.version}-${process.arch}-${command}.v8`);
}

function readCache(file) {
  try {
    return file ? fs.readFileSync(file) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the cache after the command finished (write to a temp name, then rename: readers never see half a file). */
function writeCacheAtExit(file, script) {
  process.once('exit', () => {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch {
      // read-only home, full disk, …: run without a cache next time too
    }
  });
}

/** Imports for the bundle: code compiled by vm.Script with a code cache cannot `import()` on Node 20. */
const orchImport = (specifier) => import(specifier);

function run() {
  const file = cacheFile(process.env);
  const cachedData = readCache(file);
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const wrapper = `(function (exports, require, module, __filename, __dirname, __orchImport) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename: BUNDLE, cachedData });
  if (file && (cachedData === undefined || script.cachedDataRejected)) writeCacheAtExit(file, script);
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, lazyRequire, mod, BUNDLE, __dirname, orchImport);
}

run();
