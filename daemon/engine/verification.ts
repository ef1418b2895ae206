/**
 * The I/O half of item verification: file checks confined to the repository and commands run
 * without a shell. The daemon calls these outside the session lock (a test suite can take
 * minutes), then hands the outcome to the pure `completeItem`. Also the builders for the stored
 * `verification_result` / `gate_result` shapes (reference §2.3), so both halves agree on them.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parse, type ParseEntry } from 'shell-quote';
import { OrchError } from '../errors.js';
import { utcOffset } from './time.js';

/** Characters of each output stream kept in results (the Python tool's truncation). */
export const OUTPUT_CHARS = 1000;
/** Bytes read per stream before further output is discarded, so a chatty command cannot fill memory. */
const READ_CAP_BYTES = 64 * 1024;
/** After SIGTERM on timeout, how long the process group gets before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** After the process exits, how long to wait for its pipes to close (a background child may hold them). */
const DRAIN_MS = 1000;

export interface FileExistsResult {
  type: 'file_exists';
  timestamp: string;
  /** Absolute path with symlinks resolved, as the Python tool stored it. */
  path: string;
  exists: boolean;
}

export interface CommandRunResult {
  /** Null when the command did not exit normally (not found, timed out, killed). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationSeconds: number;
  timedOut: boolean;
  error?: string;
}

export interface RunOptions {
  /** The repository root: commands always run there. */
  cwd: string;
  timeoutMs: number;
  /** Aborting kills the process group, e.g. when the daemon shuts down. */
  signal?: AbortSignal;
}

export type ParsedCommand = { file: string; args: string[] };

const NOT_FOUND = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/**
 * realpath() for a path that may not exist yet: resolves the longest existing prefix and appends
 * the rest. A dangling symlink is followed to its target, so a link pointing outside the repo is
 * caught even when its target is missing.
 */
async function realpathLoose(p: string, hops = 0): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch (err) {
    if (!NOT_FOUND.has(errCode(err) ?? '')) throw err;
  }
  const link = await fs.readlink(p).catch(() => null);
  if (link !== null && hops < 40) return realpathLoose(path.resolve(path.dirname(p), link), hops + 1);
  if (path.dirname(p) === p) return p;
  return path.join(await realpathLoose(path.dirname(p), hops), path.basename(p));
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Checks that `relPath` (relative to the repo, or absolute inside it) exists. Throws
 * `PathOutsideRepo` when the path, after resolving symlinks, leaves the repository.
 */
export async function checkFileExists(repoRoot: string, relPath: string): Promise<FileExistsResult> {
  const timestamp = utcOffset();
  if (relPath.includes('\0')) throw new OrchError('InvalidArgument', 'The verification path contains a NUL character; fix it in the workflow file.');
  const root = await fs.realpath(repoRoot);
  const target = await realpathLoose(path.resolve(root, relPath));
  if (!isInside(root, target)) {
    throw new OrchError(
      'PathOutsideRepo',
      `Path traversal blocked: ${relPath} resolves to ${target}, outside the repository ${root}; use a path inside the repository.`,
      { path: relPath, resolved: target, repoRoot: root },
    );
  }
  const exists = await fs.stat(target).then(() => true, () => false);
  return { type: 'file_exists', timestamp, path: target, exists };
}

function describeToken(token: Exclude<ParseEntry, string>): string {
  if ('comment' in token) return 'a # comment';
  if (token.op === 'glob') return `the glob ${token.pattern}`;
  return `the operator ${token.op}`;
}

/**
 * Splits a command into argv the way a shell would quote it, but refuses anything that needs a
 * shell (operators, redirections, globs, comments). `$VAR` stays literal, as with Python's
 * shlex. `bash -c '<script>'` parses to plain argv, which is how a shell is requested explicitly.
 */
export function parseCommand(command: string): ParsedCommand {
  const tokens = parse(command, (key: string) => `$${key}`);
  const bad = tokens.find((t): t is Exclude<ParseEntry, string> => typeof t !== 'string');
  if (bad !== undefined) {
    throw new OrchError(
      'InvalidWorkflow',
      `Command ${JSON.stringify(command)} uses ${describeToken(bad)}, which needs a shell; ` +
        `write it as bash -c '<command>' in the workflow file to run it through bash.`,
      { command },
    );
  }
  const argv = tokens as string[];
  if (argv.length === 0 || argv[0] === '') {
    throw new OrchError('InvalidWorkflow', 'The verification command is empty; set a command in the workflow file.', { command });
  }
  return { file: argv[0] as string, args: argv.slice(1) };
}

/** Keeps at most READ_CAP_BYTES of a stream; later chunks are read and dropped. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): void {
    if (this.size >= READ_CAP_BYTES) return;
    const take = chunk.subarray(0, READ_CAP_BYTES - this.size);
    this.chunks.push(take);
    this.size += take.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8').slice(0, OUTPUT_CHARS);
  }
}

const formatSeconds = (ms: number): string => (Number.isInteger(ms / 1000) ? String(ms / 1000) : (ms / 1000).toFixed(1));

function spawnErrorText(err: unknown, file: string): string {
  const code = errCode(err);
  if (code === 'ENOENT') return `Command not found: ${file}`;
  if (code === 'EACCES') return `Permission denied: ${file}`;
  return `Command error: ${(err as Error).message}`;
}

type Ending = { code: number | null; signal: NodeJS.Signals | null; spawnError?: string };

function endingError(end: Ending, timedOut: boolean, aborted: boolean, timeoutMs: number): string | undefined {
  if (end.spawnError !== undefined) return end.spawnError;
  if (timedOut) return `Command timed out after ${formatSeconds(timeoutMs)} seconds`;
  if (aborted) return 'Command was cancelled';
  if (end.code === null) return `Command was killed by ${end.signal ?? 'a signal'}`;
  return undefined;
}

/** One child process run in its own process group, resolving once (never rejecting). */
class ProcessRun {
  private readonly started = performance.now();
  private readonly out = new CappedBuffer();
  private readonly err = new CappedBuffer();
  private timedOut = false;
  private aborted = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private pid: number | undefined;
  private readonly onAbort = (): void => {
    this.aborted = true;
    this.terminate();
  };

  constructor(
    private readonly cmd: ParsedCommand,
    private readonly opts: RunOptions,
    private readonly resolve: (r: CommandRunResult) => void,
  ) {}

  start(): void {
    // detached: the child leads a new process group, so a timeout can kill its children too.
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(this.cmd.file, this.cmd.args, { cwd: this.opts.cwd, detached: true, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      return this.finish({ code: null, signal: null, spawnError: spawnErrorText(e, this.cmd.file) }); // e.g. a NUL byte in an argument
    }
    this.pid = child.pid;
    child.stdout.on('data', (b: Buffer) => this.out.push(b));
    child.stderr.on('data', (b: Buffer) => this.err.push(b));
    child.on('error', (e) => this.finish({ code: null, signal: null, spawnError: spawnErrorText(e, this.cmd.file) }));
    child.on('close', (code, signal) => this.finish({ code, signal }));
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        this.finish({ code, signal });
      }, DRAIN_MS).unref();
    });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.terminate();
    }, this.opts.timeoutMs);
    if (this.opts.signal?.aborted) this.onAbort();
    else this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private killGroup(sig: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  private terminate(): void {
    this.killGroup('SIGTERM');
    this.killTimer ??= setTimeout(() => this.killGroup('SIGKILL'), KILL_GRACE_MS);
  }

  private finish(end: Ending): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    clearTimeout(this.killTimer);
    // Stragglers that ignored SIGTERM go now rather than after the grace period.
    if (this.timedOut || this.aborted) this.killGroup('SIGKILL');
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    const error = endingError(end, this.timedOut, this.aborted, this.opts.timeoutMs);
    const ranToEnd = end.spawnError === undefined && !this.timedOut && !this.aborted;
    this.resolve({
      exitCode: ranToEnd ? end.code : null,
      stdout: this.out.text(),
      stderr: this.err.text(),
      durationSeconds: Math.round(performance.now() - this.started) / 1000,
      timedOut: this.timedOut,
      ...(error !== undefined ? { error } : {}),
    });
  }
}

/**
 * Runs a verification or gate command in `cwd` without a shell. Refuses (`InvalidWorkflow`)
 * commands that need one. Output is capped while reading; the result keeps the first
 * {@link OUTPUT_CHARS} characters of each stream. Never rejects for a failing command.
 */
export async function runCommand(command: string, opts: RunOptions): Promise<CommandRunResult> {
  const parsed = parseCommand(command);
  const isDir = await fs.stat(opts.cwd).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    // spawn() reports a missing cwd as ENOENT, which would read as "command not found".
    return { exitCode: null, stdout: '', stderr: '', durationSeconds: 0, timedOut: false, error: `Working directory not found: ${opts.cwd}` };
  }
  return new Promise((resolve) => new ProcessRun(parsed, opts, resolve).start());
}

type CommandResultInput = { command: string; originalCommand: string; run: CommandRunResult; timestamp: string };

/** The stored `verification_result` of a command verification. */
export function commandVerificationResult(input: CommandResultInput): Record<string, unknown> {
  const { run } = input;
  let commandArgs: string[] = [];
  try {
    const parsed = parseCommand(input.command);
    commandArgs = [parsed.file, ...parsed.args];
  } catch {
    // Unparseable commands never run, so there are no args to record.
  }
  return {
    type: 'command',
    timestamp: input.timestamp,
    command: input.command,
    command_args: commandArgs,
    original_command: input.originalCommand,
    exit_code: run.exitCode,
    stdout: run.stdout.slice(0, OUTPUT_CHARS),
    stderr: run.stderr.slice(0, OUTPUT_CHARS),
    ...(run.error !== undefined ? { error: run.error } : {}),
  };
}

/** The stored `gate_result` of a gate command; `exit_code` is -1 when the command did not exit, as in the Python tool. */
export function gateResult(input: { command: string; run: CommandRunResult; success: boolean }): Record<string, unknown> {
  const { run } = input;
  return {
    success: input.success,
    exit_code: run.exitCode ?? -1,
    stdout: run.stdout.slice(0, OUTPUT_CHARS),
    stderr: run.stderr.slice(0, OUTPUT_CHARS),
    command: input.command,
    duration_seconds: run.durationSeconds,
    error: run.error ?? null,
  };
}
