/**
 * `orch mcp`: the MCP server for agents (stdio), and `orch mcp config`: the entry that makes an
 * agent's editor start it. The server's code (and the MCP SDK) is loaded only by `orch mcp` itself.
 */
import { join } from 'node:path';
import type { CommandContext, CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { isObject, orchLaunch, readJsonObject, writeJsonAtomic, type JsonObject } from '../settings-file.js';

/** Where each client keeps its project's MCP servers, and under which key. */
const CLIENTS = {
  claude: { file: '.mcp.json', key: 'mcpServers', name: 'Claude Code' },
  cursor: { file: join('.cursor', 'mcp.json'), key: 'mcpServers', name: 'Cursor' },
  vscode: { file: join('.vscode', 'mcp.json'), key: 'servers', name: 'VS Code' },
} as const;
type ClientName = keyof typeof CLIENTS;

/** The server entry for `client`: absolute node and orch (editors may not inherit PATH), and the root. */
export function serverEntry(client: ClientName, root: string): JsonObject {
  const { node, orch } = orchLaunch();
  const entry: JsonObject = { command: node, args: [orch, 'mcp', '--root', root] };
  return client === 'vscode' ? { type: 'stdio', ...entry } : entry;
}

/** `config` with orch's entry set under the client's key, every other key kept. */
export function mergeServer(config: JsonObject, client: ClientName, root: string): JsonObject {
  const { key } = CLIENTS[client];
  const servers = isObject(config[key]) ? config[key] : {};
  return { ...config, [key]: { ...servers, orch: serverEntry(client, root) } };
}

async function configure(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length > 0) throw usageError('orch mcp config takes no arguments; name the client with --client claude|cursor|vscode.');
  const client = (ctx.values.client as string | undefined) ?? 'claude';
  if (!(client in CLIENTS)) throw usageError(`--client must be claude, cursor or vscode, not ${JSON.stringify(client.slice(0, 40))}.`);
  const c = CLIENTS[client as ClientName];
  const root = ctx.paths().root;
  const file = join(root, c.file);
  if (ctx.values.write !== true) {
    const snippet = mergeServer({}, client as ClientName, root);
    if (ctx.out.json) ctx.out.document({ client, file, written: false, config: snippet });
    else ctx.out.io.stdout(JSON.stringify(snippet, null, 2) + '\n');
    return 0;
  }
  const merged = mergeServer(readJsonObject(file, root), client as ClientName, root);
  writeJsonAtomic(file, merged);
  ctx.out.document({ client, file, written: true, config: merged });
  ctx.out.text(`✓ Added the orch MCP server to ${file} (other servers and keys kept). Restart ${c.name}, or reload its MCP servers, to use it.`);
  return 0;
}

async function serve(ctx: CommandContext): Promise<number> {
  const root = ctx.paths().root;
  const sessionId = ctx.sessionId();
  const { loadMcpServer } = await import('../mcp-launch.js');
  const { serveMcp } = await loadMcpServer();
  return serveMcp({ root, env: ctx.env, sessionId, stderr: ctx.out.io.stderr });
}

export const command: CommandSpec = {
  name: 'mcp',
  clientKind: 'mcp',
  summary: 'serve orch to an agent over MCP (stdio); mcp config prints or writes the client entry',
  help: `Usage: orch mcp                     (started by the agent's editor: MCP on stdin/stdout)
       orch mcp config [--client claude|cursor|vscode] [--write]

orch mcp is an MCP server with seven tools: orch_status, orch_start, orch_complete, orch_skip,
orch_advance, orch_wait, orch_checkpoint (no approve tool: approvals belong to people). It works
through the repository's daemon (starting it when needed) and stays on one session: --session or
$ORCH_SESSION, else the one its orch_start created, else the current session at its first call.
Every result carries structuredContent with nextAction and a text ending in NEXT_ACTION.

orch mcp config prints the entry for the client's project config (default --client claude):
  claude  .mcp.json          {"mcpServers": {"orch": {"command", "args"}}}
  cursor  .cursor/mcp.json   {"mcpServers": {"orch": …}}
  vscode  .vscode/mcp.json   {"servers": {"orch": {"type": "stdio", …}}}
with absolute paths to node and orch, since editors may not inherit the shell's PATH. --write
merges it into that file, keeping every other server and key.

Example:
  orch mcp config --client claude --write`,
  options: { client: { type: 'string' }, write: { type: 'boolean' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (sub === 'config') return configure(ctx, rest);
    if (sub !== undefined) throw usageError(`orch mcp takes no arguments except config, not ${JSON.stringify(sub.slice(0, 40))}; see orch mcp --help.`);
    if (ctx.values.client !== undefined || ctx.values.write !== undefined) throw usageError('--client and --write belong to orch mcp config.');
    return serve(ctx);
  },
};
