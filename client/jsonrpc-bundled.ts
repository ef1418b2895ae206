/**
 * vscode-jsonrpc as the bundled client sees it (scripts/bundle.mjs routes every
 * import of `vscode-jsonrpc` or `vscode-jsonrpc/node.js` in client/ and protocol/ here). The library is CommonJS:
 * esbuild gives each ES module that imports it its own copy of the library's ~120 exports, made at
 * start-up (16 copies, about 1 ms of a warm `orch status` under load); through this one module
 * there is one. Unbundled code (dist/client/lib.js, the daemon) imports the library directly.
 */
export * from 'vscode-jsonrpc/node.js';
