#!/usr/bin/env node
/**
 * `orch`: parse argv → run one command → print → exit code. The only top-level catch. It loads
 * nothing it does not need: command modules are imported on demand, and the daemon's code
 * (pino, chokidar, the engine) never enters this process.
 */
import { parseArgs } from 'node:util';
import { ExitCode } from '../protocol/errors.js';
import { isSessionId, locateRepoRoot, repoPaths, type RepoPaths } from '../protocol/node/paths.js';
import { ORCH_VERSION } from '../protocol/version.js';
import { GLOBAL_HELP, GLOBAL_OPTIONS, type CommandContext, type CommandSpec } from './command.js';
import { describeClient } from './client-info.js';
import type { DaemonConnection, RequestConnection } from './connect.js';
import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import { CliError, echo, usageError } from './errors.js';
import { Output, type Io } from './output.js';

const COMMANDS: Record<string, () => Promise<{ command: CommandSpec }>> = {
  start: () => import('./commands/start.js'),
  status: () => import('./commands/status.js'),
  sessions: () => import('./commands/sessions.js'),
  complete: () => import('./commands/complete.js'),
  skip: () => import('./commands/skip.js'),
  'approve-item': () => import('./commands/approve-item.js'),
  approve: () => import('./commands/approve.js'),
  advance: () => import('./commands/advance.js'),
  finish: () => import('./commands/finish.js'),
  verify: () => import('./commands/verify.js'),
  checkpoint: () => import('./commands/checkpoint.js'),
  checkpoints: () => import('./commands/checkpoints.js'),
  log: () => import('./commands/log.js'),
  validate: () => import('./commands/validate.js'),
  init: () => import('./commands/init.js'),
  watch: () => import('./commands/watch.js'),
  wait: () => import('./commands/wait.js'),
  who: () => import('./commands/who.js'),
  feedback: () => import('./commands/feedback.js'),
  daemon: () => import('./commands/daemon.js'),
  mcp: () => import('./commands/mcp.js'),
  hook: () => import('./commands/hook.js'),
  ui: () => import('./commands/ui.js'),
};

async function mainHelp(): Promise<string> {
  const lines = ['orch — keeps AI coding agents and people on a structured workflow.', '', 'Usage: orch <command> [options]', '', 'Commands:'];
  for (const load of Object.values(COMMANDS)) {
    const { command } = await load();
    lines.push(`  ${command.name.padEnd(14)} ${command.summary}`);
  }
  lines.push('', GLOBAL_HELP, '', 'Run orch <command> --help for a command’s options. Exit codes: 0 ok, 1 refused or not found, 2 usage error, 3 daemon unreachable, 4 still waiting (orch wait).');
  return lines.join('\n');
}

/**
 * The repository root for this command. Outside any repository (no `.git` or `workflow.yaml` in
 * the folder or above it) orch refuses rather than adopt the current folder: a stray `orch status`
 * in `/` or `~` must not create `.orchestrator/` or start a daemon there. `--root DIR` (or
 * ORCH_ROOT) makes any folder the root.
 */
function repoRootFor(cwd: string, explicit: string | undefined): string {
  let located;
  try {
    located = locateRepoRoot(cwd, explicit);
  } catch (err) {
    throw usageError(`${(err as Error).message.replace(/\.$/, '')}; --root (or ORCH_ROOT) must name an existing folder.`);
  }
  if (!located.found) {
    throw new CliError(
      `${located.root} is not inside a repository (no .git or workflow.yaml in it or any folder above), so orch did nothing; ` +
        'run orch inside your project, or pass --root <dir> (e.g. --root .) to use a folder anyway.',
      'RepoNotInitialized',
      { cwd: located.root },
    );
  }
  return located.root;
}

/** parseArgs quotes the offending option in full: keep error messages short. */
function cutLong(message: string): string {
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

function makeContext(spec: CommandSpec, argv: string[], io: Io, env: NodeJS.ProcessEnv, cwd: string): CommandContext {
  let parsed;
  try {
    // A bare `orch status` has nothing to parse, and loading node:util's parser is a measurable part
    // of a warm status (issue 18): no arguments give what parseArgs would (no option has a default).
    parsed = argv.length === 0 ? { values: {}, positionals: [] } : parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...spec.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(`${cutLong((err as Error).message.replace(/\.$/, ''))}; see orch ${spec.name} --help.`);
  }
  const values = parsed.values as CommandContext['values'];
  const out = new Output(io, values.json === true, values.quiet === true);
  let paths: RepoPaths | null = null;
  let connection: DaemonConnection | null = null;
  let requests: { conn: RequestConnection; close(): void } | null = null;
  const getPaths = () => (paths ??= repoPaths(repoRootFor(cwd, (values.root as string | undefined) ?? env.ORCH_ROOT)));
  // Who this process is, for the daemon's roster and its approval records.
  const who = () => {
    const bound = (values.session as string | undefined) ?? (env.ORCH_SESSION || undefined);
    return describeClient(spec.clientKind ?? (spec.name === 'watch' ? 'watch' : 'cli'), env, bound !== undefined && isSessionId(bound) ? bound : undefined);
  };
  return {
    values,
    positionals: parsed.positionals,
    out,
    env,
    cwd,
    paths: getPaths,
    async connect(opts?: { readOnly?: boolean; requestsOnly?: boolean }): Promise<MessageConnection & RequestConnection> {
      // No-daemon mode (ORCH_DAEMON=0, or CI): a running daemon if there is one, else in-process.
      const { connectReadOnly, connectWithoutDaemon, isDaemonDisabled } = await import('./no-daemon.js');
      // A command that only asks (status) reaches a running daemon over a lighter connection; when
      // there is none, it refuses the connection, or ORCH_DAEMON is malformed, the paths below
      // decide, exactly as without it.
      if (opts?.requestsOnly && connection === null && isDaemonSetting(env, isDaemonDisabled)) {
        if (requests === null) {
          const { connectForRequests } = await import('./connect.js');
          requests = await connectForRequests(getPaths().daemonJson, who());
        }
        // Only sendRequest is used by such a command (CommandContext.connect's overload says so).
        if (requests) return requests.conn as MessageConnection & RequestConnection;
      }
      if (opts?.readOnly && connection === null) {
        const ro = await connectReadOnly(getPaths(), env, who());
        if (ro) {
          connection = ro.connection;
          if (ro.reason) out.notice(ro.reason);
          return connection.conn;
        }
      }
      if (isDaemonDisabled(env)) {
        connection ??= await connectWithoutDaemon(getPaths(), env, who(), io.stderr);
        return connection.conn;
      }
      const { ensureDaemon } = await import('./ensure-daemon.js');
      connection ??= await ensureDaemon(getPaths(), env, who(), true, io.stderr, `auto-start by orch ${spec.name}`);
      return connection!.conn;
    },
    async connectIfRunning() {
      const { ensureDaemon } = await import('./ensure-daemon.js');
      connection ??= await ensureDaemon(getPaths(), env, who(), false, io.stderr);
      return connection?.conn ?? null;
    },
    sessionId() {
      const id = (values.session as string | undefined) ?? (env.ORCH_SESSION || undefined);
      if (id !== undefined && !isSessionId(id)) {
        const from = values.session !== undefined ? '--session' : 'ORCH_SESSION';
        throw usageError(`${from} ${echo(id)} is not a session id; session ids are 8 lowercase hex characters, as listed by orch sessions.`, 'InvalidSessionId');
      }
      return id;
    },
    close: () => {
      requests?.close();
      requests = null;
      connection?.close();
      connection = null;
    },
  };
}

/** False when ORCH_DAEMON is malformed (the normal path then says so). */
function isDaemonSetting(env: NodeJS.ProcessEnv, isDaemonDisabled: (env: NodeJS.ProcessEnv) => boolean): boolean {
  try {
    isDaemonDisabled(env);
    return true;
  } catch {
    return false;
  }
}

/** Global options that take a value (`--root D`, `--session ID`); the others are flags. */
const GLOBAL_VALUE_OPTIONS = new Set(['--root', '--session']);
const GLOBAL_FLAGS = new Set(['--json', '--quiet', '-q']);

/**
 * Moves global options written before the command (`orch --json status`, `orch --root D sessions`)
 * behind it, so they are accepted anywhere on the line. Stops at the first word that is not a
 * global option: that is the command.
 */
export function hoistGlobalOptions(argv: string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.split('=', 1)[0]! : arg;
    if (GLOBAL_FLAGS.has(arg)) {
      leading.push(arg);
      i += 1;
    } else if (GLOBAL_VALUE_OPTIONS.has(name)) {
      const takesNext = !arg.includes('=') && i + 1 < argv.length;
      leading.push(...argv.slice(i, takesNext ? i + 2 : i + 1));
      i += takesNext ? 2 : 1;
    } else break;
  }
  if (leading.length === 0 || i >= argv.length) return argv;
  return [argv[i]!, ...leading, ...argv.slice(i + 1)];
}

export async function main(rawArgv: string[], io: Io, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const argv = hoistGlobalOptions(rawArgv);
  const first = argv[0];
  const fallback = new Output(io, argv.includes('--json'), false);
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && argv[1] && COMMANDS[argv[1]]) return main([argv[1], '--help'], io, env, cwd);
    io.stdout((await mainHelp()) + '\n');
    return first === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.stdout(`orch ${ORCH_VERSION}\n`);
    return ExitCode.Ok;
  }
  const load = COMMANDS[first];
  if (!load) return fallback.error(usageError(`Unknown command ${echo(first)}; run orch --help for the list.`));
  const { command } = await load();
  let ctx: CommandContext | null = null;
  try {
    ctx = makeContext(command, argv.slice(1), io, env, cwd);
    if (ctx.values.help) {
      io.stdout(`${command.help}\n\n${GLOBAL_HELP}\n`);
      return ExitCode.Ok;
    }
    return await command.run(ctx);
  } catch (err) {
    return (ctx?.out ?? fallback).error(err);
  } finally {
    ctx?.close();
  }
}

const io: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
main(process.argv.slice(2), io, process.env, process.cwd()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`orch: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = ExitCode.Internal;
  },
);
