/**
 * `orch ui`: the live dashboard in the browser. The server's code (client/ui/server.js) is loaded
 * only by this command, by path, as `orch mcp` loads its server.
 */
import type { CommandSpec } from '../command.js';
import { CliError, echo, usageError } from '../errors.js';

function parsePort(raw: string | boolean | string[] | undefined): number {
  if (raw === undefined) return 0;
  const s = String(raw);
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) throw usageError(`--port takes a port number from 0 to 65535 (0: any free port), not ${echo(s)}.`);
  return Number(s);
}

export const command: CommandSpec = {
  name: 'ui',
  clientKind: 'web',
  summary: 'a live dashboard in the browser: sessions, checklists, and gates to approve',
  help: `Usage: orch ui [--port N] [--no-open] [--json]

Starts a local web server for this repository's dashboard and opens it in your browser: every
session (task, status, phase, progress, who is connected), one session's phases, checklist, log
and checkpoints, and a "Waiting for you" list of gates that need a person, each with an Approve
button. The page updates live from the daemon; nothing needs a reload. Approvals are recorded
with your git user.name (else $USER) and channel web, exactly like orch approve / approve-item.

The first line on stdout is the URL, with a fresh secret token; open it to sign in (the token
becomes a cookie). With --json that line is {"url", "port", "pid"}. Runs until Ctrl-C.

Security: bound to 127.0.0.1 only; every request needs the token; Host headers other than
127.0.0.1:<port> or localhost:<port> are refused; approvals are same-origin POSTs only; no CORS;
a strict Content-Security-Policy. Anyone with the URL can approve: do not share it.

Options:
  --port N        listen on this port (default: a free port the system picks)
  --no-open       print the URL but do not open a browser

Example:
  orch ui
  orch ui --port 8765 --no-open`,
  options: { port: { type: 'string' }, 'no-open': { type: 'boolean' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch ui takes no arguments; see orch ui --help.');
    if (ctx.values.session !== undefined) throw usageError('orch ui shows every session; --session does not apply (pick a session on the page).');
    const port = parsePort(ctx.values.port);
    const root = ctx.paths().root;
    const { loadUiServer, openBrowser } = await import('../ui-launch.js');
    const { startUiServer } = await loadUiServer();
    let server;
    try {
      server = await startUiServer({ root, env: ctx.env, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`Port ${port} is in use; pick another with --port, or leave it out for a free one.`, 'InvalidArgument', { port });
      if (code === 'EACCES') throw new CliError(`Port ${port} needs privileges this user lacks; pick a port above 1023.`, 'InvalidArgument', { port });
      throw err;
    }
    if (ctx.out.json) ctx.out.io.stdout(JSON.stringify({ url: server.url, port: server.port, pid: process.pid }) + '\n');
    else {
      ctx.out.io.stdout(`${server.url}\n`);
      ctx.out.io.stderr(`orch ui: serving the dashboard of ${root} (Ctrl-C stops). Anyone with this URL can approve gates: do not share it.\n`);
    }
    if (ctx.values['no-open'] !== true) {
      await openBrowser(server.url).catch((err: unknown) => {
        ctx.out.warn(`could not open a browser (${err instanceof Error ? err.message : String(err)}); open the URL above yourself.`);
      });
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
