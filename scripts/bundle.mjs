#!/usr/bin/env node
/**
 * Bundles the client for start-up speed (run by `npm run build`, after tsc):
 *
 *   dist/client/cli.js (tsc output, ESM, ~30 modules) ──esbuild──▶ dist/client/orch.bundle.cjs
 *   scripts/orch-loader.cjs ──▶ dist/client/orch.cjs (package.json bin; loads the bundle with V8's code cache)
 *
 * One CommonJS file instead of an ESM graph saves Node's module resolution and the costly ESM
 * import of vscode-jsonrpc (CommonJS), about 25 ms of a warm `orch status`. The daemon stays out:
 * the client starts it, and loads it in-process (ORCH_DAEMON=0), by path at run time (the URL is
 * computed, so esbuild cannot inline it). Such a computed `import(url)` is routed to the loader,
 * `__orchImport(url)`: code compiled by vm.Script with a code cache cannot import on Node 20.
 * The bundle's inputs are checked: no daemon code and no dependency but vscode-jsonrpc, or the
 * build fails. dist/client/orch.meta.json keeps esbuild's metafile for the import-graph test.
 *
 * It also builds the `orch ui` page: the page script (client/ui/web/app.ts, compiled by tsc to
 * dist/ui-web/) becomes one browser file, dist/client/ui/assets/app.js, beside a copy of the page's
 * index.html and app.css; the server serves that folder and nothing else.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLIENT = join(PROJECT, 'dist', 'client');
const BUNDLE = join(CLIENT, 'orch.bundle.cjs');
const LOADER = join(CLIENT, 'orch.cjs');
/** The only package the bundle may carry (the protocol's framing); everything else belongs to the daemon. */
const ALLOWED_PACKAGES = new Set(['vscode-jsonrpc']);

function packageOf(input) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m ? m[1] : null;
}

/** Fails when the bundle took in daemon code or a dependency the client must not load. */
function checkInputs(metafile) {
  const bad = [];
  for (const input of Object.keys(metafile.inputs)) {
    const abs = resolve(PROJECT, input);
    const pkg = packageOf(abs);
    if (pkg !== null && !ALLOWED_PACKAGES.has(pkg)) bad.push(`${input} (package ${pkg})`);
    if (pkg === null && !abs.startsWith(join(PROJECT, 'dist', 'client')) && !abs.startsWith(join(PROJECT, 'dist', 'protocol'))) bad.push(input);
  }
  if (bad.length > 0) throw new Error(`the client bundle must not contain:\n  ${bad.join('\n  ')}`);
}

/** `import(<expression>)` in our own modules becomes `__orchImport(<expression>)` (see orch-loader.cjs). */
const computedImports = {
  name: 'computed-imports',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/](client|protocol)[\\/].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/\bimport\((?=\s*[^'"\s])/g, '__orchImport('),
      loader: 'js',
    }));
  },
};

/**
 * Every `vscode-jsonrpc` and `vscode-jsonrpc/node.js` import of our modules (the same module) goes through client/jsonrpc-bundled.js, so
 * the library's exports are copied once at start-up instead of once per importing module.
 */
const JSONRPC_SHIM = join(CLIENT, 'jsonrpc-bundled.js');
const oneJsonRpc = {
  name: 'one-jsonrpc',
  setup(b) {
    b.onResolve({ filter: /^vscode-jsonrpc(\/node(\.js)?)?$/ }, (args) =>
      args.importer === JSONRPC_SHIM || !/[\\/]dist[\\/](client|protocol)[\\/]/.test(args.importer) ? undefined : { path: JSONRPC_SHIM },
    );
  },
};

/**
 * vscode-jsonrpc's index (lib/common/api.js) requires all of the library when loaded, though it only
 * re-exports (each export is a getter). Loaded through the bundle, each part is required when one
 * of its exports is first read: a warm `orch status` (issue 18) then loads the framing (message
 * reader, writer and buffer) and the message types, not createMessageConnection's modules
 * (connection, cancellation, linkedMap, …), which commands that use it load on first use. The
 * library's code is unchanged; the rewrite is checked, and the build fails if it no longer fits.
 */
const JSONRPC_API = /[\\/]node_modules[\\/]vscode-jsonrpc[\\/]lib[\\/]common[\\/]api\.js$/;
function lazyApiRequires(text) {
  const requires = [...text.matchAll(/^const (\w+_1) = require\("(\.\/\w+)"\);$/gm)];
  if (requires.length < 10) throw new Error(`vscode-jsonrpc's lib/common/api.js no longer has the expected requires (found ${requires.length})`);
  let out = text;
  for (const [line, name, spec] of requires) {
    out = out.replace(line, `let ${name}__; const ${name}__get = () => (${name}__ ??= require("${spec}"));`);
    out = out.replace(new RegExp(`\\b${name}\\.`, 'g'), `${name}__get().`);
    if (new RegExp(`\\b${name}\\b`).test(out)) throw new Error(`vscode-jsonrpc's lib/common/api.js uses ${name} other than as ${name}.<export>`);
  }
  return out;
}
const lazyJsonRpcApi = {
  name: 'lazy-jsonrpc-api',
  setup(b) {
    b.onLoad({ filter: JSONRPC_API }, (args) => ({ contents: lazyApiRequires(readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};

/** The dashboard's page: one script for the browser (no dependencies), its HTML and CSS. */
async function buildUiAssets() {
  const assets = join(CLIENT, 'ui', 'assets');
  mkdirSync(assets, { recursive: true });
  await build({
    entryPoints: [join(PROJECT, 'dist', 'ui-web', 'client', 'ui', 'web', 'app.js')],
    outfile: join(assets, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: PROJECT,
  });
  for (const file of ['index.html', 'app.css']) copyFileSync(join(PROJECT, 'client', 'ui', 'web', file), join(assets, file));
}

async function main() {
  await buildUiAssets();
  const result = await build({
    entryPoints: [join(CLIENT, 'cli.js')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Whitespace and syntax only: stack traces of an internal error keep readable names.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: PROJECT,
    // import.meta.url of every module is the bundle's URL, computed on first use (a warm status has none).
    define: { 'import.meta.url': '__orchMeta.url' },
    banner: { js: 'var __orchMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
    plugins: [computedImports, oneJsonRpc, lazyJsonRpcApi],
  });
  checkInputs(result.metafile);
  // The loader wraps the bundle in a function, where a leading #! is a syntax error.
  const code = readFileSync(BUNDLE, 'utf8').replace(/^#![^\n]*\n/, '');
  if (/\bimport\(/.test(code)) throw new Error(`${relative(PROJECT, BUNDLE)} still contains import(…), which cannot run under the code cache`);
  writeFileSync(BUNDLE, code);
  const hash = createHash('sha256').update(code).digest('hex');
  const loader = readFileSync(join(PROJECT, 'scripts', 'orch-loader.cjs'), 'utf8').replace("'__BUNDLE_HASH__'", JSON.stringify(hash));
  writeFileSync(LOADER, loader);
  chmodSync(LOADER, 0o755);
  writeFileSync(join(CLIENT, 'orch.meta.json'), JSON.stringify(result.metafile, null, 1));
  const kb = (Buffer.byteLength(code) / 1024).toFixed(0);
  process.stderr.write(`bundle: ${relative(PROJECT, LOADER)} → ${relative(PROJECT, BUNDLE)} (${kb} KB, ${Object.keys(result.metafile.inputs).length} modules)\n`);
}

main().catch((err) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
