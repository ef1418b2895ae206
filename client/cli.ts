#!/usr/bin/env node
/**
 * `orch`: parse argv → run one command → print → exit code. The only top-level catch. It loads
 * nothing it does not need: command modules are imported on demand, and the daemon's code
 * (pino, chokidar, the engine) never enters this process.
 */
import { parseArgs } from 'node:util';
import { ExitCode } from '../protocol/errors.js';
import { findRepoRoot, isSessionId, repoPaths, type RepoPaths } from '../protocol/paths.js';
import { ORCH_VERSION } from '../protocol/version.js';
import { GLOBAL_HELP, GLOBAL_OPTIONS, type CommandContext, type CommandSpec } from './command.js';
import type { DaemonConnection } from './connect.js';
import { usageError } from './errors.js';
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
  checkpoint: () => import('./commands/checkpoint.js'),
  checkpoints: () => import('./commands/checkpoints.js'),
  log: () => import('./commands/log.js'),
  validate: () => import('./commands/validate.js'),
  init: () => import('./commands/init.js'),
  watch: () => import('./commands/watch.js'),
  feedback: () => import('./commands/feedback.js'),
  daemon: () => import('./commands/daemon.js'),
};

async function mainHelp(): Promise<string> {
  const lines = ['orch — keeps AI coding agents and people on a structured workflow.', '', 'Usage: orch <command> [options]', '', 'Commands:'];
  for (const load of Object.values(COMMANDS)) {
    const { command } = await load();
    lines.push(`  ${command.name.padEnd(14)} ${command.summary}`);
  }
  lines.push('', GLOBAL_HELP, '', 'Run orch <command> --help for a command’s options. Exit codes: 0 ok, 1 refused or not found, 2 usage error, 3 daemon unreachable.');
  return lines.join('\n');
}

function makeContext(spec: CommandSpec, argv: string[], io: Io, env: NodeJS.ProcessEnv, cwd: string): CommandContext {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...spec.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(`${(err as Error).message.replace(/\.$/, '')}; see orch ${spec.name} --help.`);
  }
  const values = parsed.values as CommandContext['values'];
  const out = new Output(io, values.json === true, values.quiet === true);
  let paths: RepoPaths | null = null;
  let connection: DaemonConnection | null = null;
  const getPaths = () => (paths ??= repoPaths(findRepoRoot(cwd, (values.root as string | undefined) ?? env.ORCH_ROOT)));
  return {
    values,
    positionals: parsed.positionals,
    out,
    env,
    cwd,
    paths: getPaths,
    async connect(opts) {
      // No-daemon mode (ORCH_DAEMON=0, or CI): a running daemon if there is one, else in-process.
      const { connectReadOnly, connectWithoutDaemon, isDaemonDisabled } = await import('./no-daemon.js');
      if (opts?.readOnly && connection === null) {
        const ro = await connectReadOnly(getPaths(), env);
        if (ro) {
          connection = ro.connection;
          if (ro.reason) out.notice(ro.reason);
          return connection.conn;
        }
      }
      if (isDaemonDisabled(env)) {
        connection ??= await connectWithoutDaemon(getPaths(), env, io.stderr);
        return connection.conn;
      }
      const { ensureDaemon } = await import('./ensure-daemon.js');
      connection ??= await ensureDaemon(getPaths(), env, true, io.stderr, `auto-start by orch ${spec.name}`);
      return connection!.conn;
    },
    async connectIfRunning() {
      const { ensureDaemon } = await import('./ensure-daemon.js');
      connection ??= await ensureDaemon(getPaths(), env, false, io.stderr);
      return connection?.conn ?? null;
    },
    sessionId() {
      const id = (values.session as string | undefined) ?? (env.ORCH_SESSION || undefined);
      if (id !== undefined && !isSessionId(id)) {
        const from = values.session !== undefined ? '--session' : 'ORCH_SESSION';
        throw usageError(`${from} ${JSON.stringify(id)} is not a session id; session ids are 8 lowercase hex characters, as listed by orch sessions.`);
      }
      return id;
    },
    close: () => {
      connection?.close();
      connection = null;
    },
  };
}

export async function main(argv: string[], io: Io, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
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
  if (!load) return fallback.error(usageError(`Unknown command ${JSON.stringify(first)}; run orch --help for the list.`));
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
