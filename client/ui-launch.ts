/**
 * Loads the `orch ui` web server (client/ui/server.js) by path at run time. The URL is computed, so
 * esbuild leaves the import alone and neither the server nor the `open` package enters the CLI's
 * bundle; this file sits beside cli.js, so the path is the same from the bundle
 * (dist/client/orch.bundle.cjs) and from the unbundled modules (dist/client/ui-launch.js).
 */
import type * as ServerModule from './ui/server.js';

const SERVER_URL = new URL('./ui/server.js', import.meta.url).href;
const OPEN_URL = new URL('./ui/open-browser.js', import.meta.url).href;

export async function loadUiServer(): Promise<typeof ServerModule> {
  return (await import(SERVER_URL)) as typeof ServerModule;
}

/** Opens `url` in the user's browser (the `open` package); resolves when the opener started. */
export async function openBrowser(url: string): Promise<void> {
  const mod = (await import(OPEN_URL)) as typeof import('./ui/open-browser.js');
  await mod.openBrowser(url);
}
