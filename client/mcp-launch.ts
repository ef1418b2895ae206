/**
 * Loads the MCP server (client/mcp/server.js) by path at run time. The URL is computed, so esbuild
 * leaves the import alone and neither the MCP SDK nor zod enters the CLI's bundle; this file sits
 * beside cli.js, so the path is the same from the bundle (dist/client/orch.bundle.cjs) and from the
 * unbundled modules (dist/client/mcp-launch.js).
 */
import type * as ServerModule from './mcp/server.js';

const SERVER_URL = new URL('./mcp/server.js', import.meta.url).href;

export async function loadMcpServer(): Promise<typeof ServerModule> {
  return (await import(SERVER_URL)) as typeof ServerModule;
}
