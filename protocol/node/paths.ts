/**
 * The one module that answers every path question, for client and daemon alike, so both agree on
 * where things live. It only reads the filesystem (walking up for the repo root, `realpath`); the
 * single function that writes is {@link ensureSessionDirs}, called explicitly by the daemon.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { mkdirNoFollow } from './safe-fs.js';

/** Name of the folder that holds all of orch's state in a repository. */
export const ORCH_DIR = '.orchestrator';

/** Generated session ids are 8 lowercase hex characters; nothing else is accepted from a client. */
const SESSION_ID_RE = /^[0-9a-f]{8}$/;

/** True when `id` is a well-formed session id (never a path, never empty). */
export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID_RE.test(id);
}

/** Paths of one session's files. */
export interface SessionPaths {
  dir: string;
  state: string;
  log: string;
  meta: string;
  /** The record of a change between its log append and its state write (daemon bookkeeping). */
  pending: string;
  checkpoints: string;
  feedback: string;
}

/** The old Python tool's files in the repository root (read, never written). */
export interface LegacyPaths {
  state: string;
  log: string;
  checkpoints: string;
  toolFeedback: string;
  processFeedback: string;
}

/** Every path orch uses in one repository. */
export interface RepoPaths {
  /** Absolute, realpath'd repository root. */
  root: string;
  /** `<root>/.orchestrator` */
  orchDir: string;
  sessionsDir: string;
  /** Id of the default session. */
  current: string;
  /** This checkout's record of the repo: its root, remote and mode (never shared through git). */
  meta: string;
  /** The repo identity shared by every clone in portable mode: mode, created_at (no machine-specific field). */
  repoJson: string;
  /** This clone's own id (portable mode records which clone last wrote a session); never committed. */
  cloneJson: string;
  gitignore: string;
  /** Portable mode's merge rules for session files (`merge=union` for logs). */
  gitattributes: string;
  /** Daemon registration: `{pid, socketPath, versions, startedAt}`. */
  daemonJson: string;
  /** Startup lock: guarantees one daemon per repo. */
  daemonLock: string;
  /** pino NDJSON log. */
  daemonLog: string;
  /** Raw stdout/stderr of the spawned daemon (crashes before the logger is up). */
  daemonOut: string;
  /** Last exit reason of a daemon, for the next one's status. */
  daemonExit: string;
  /** Present while no writer runs and the last one stopped in order, leaving no temp file behind. */
  cleanMark: string;
  /** Held while adopting legacy files. */
  migrationLock: string;
  /** Records what was adopted from legacy files. */
  migrationMarker: string;
  /** Default workflow file. */
  workflowYaml: string;
  legacy: LegacyPaths;
}

/**
 * Finds the repository root: an explicit root (`--root` / `ORCH_ROOT`) wins; otherwise walk up from
 * `cwd` to the nearest directory holding `.git` (directory or file, as in worktrees and submodules)
 * or `workflow.yaml`; otherwise `cwd`. The result is realpath'd so two spellings meet one daemon.
 */
export function findRepoRoot(cwd: string, explicitRoot?: string): string {
  return locateRepoRoot(cwd, explicitRoot).root;
}

/**
 * {@link findRepoRoot}, also telling whether a repository was actually found: `found` is false when
 * no root was given and no folder from `cwd` up holds `.git` or `workflow.yaml` (then `root` is
 * `cwd`). The CLI refuses to use such a folder unless `--root` names it (see cli.ts).
 */
export function locateRepoRoot(cwd: string, explicitRoot?: string): { root: string; found: boolean; explicit: boolean } {
  if (explicitRoot !== undefined && explicitRoot !== '') {
    const abs = resolve(cwd, explicitRoot);
    if (!isDirectory(abs)) throw new Error(`The repository root ${abs} is not a directory.`);
    return { root: realpathSync(abs), found: true, explicit: true };
  }
  const start = realpathSync(resolve(cwd));
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, '.git')) || existsSync(join(dir, 'workflow.yaml'))) return { root: dir, found: true, explicit: false };
    const parent = resolve(dir, '..');
    if (parent === dir) return { root: start, found: false, explicit: false };
    dir = parent;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** All paths for the repository at `root` (which must already be absolute and realpath'd). */
export function repoPaths(root: string): RepoPaths {
  const orchDir = join(root, ORCH_DIR);
  return {
    root,
    orchDir,
    sessionsDir: join(orchDir, 'sessions'),
    current: join(orchDir, 'current'),
    meta: join(orchDir, 'meta.json'),
    repoJson: join(orchDir, 'repo.json'),
    cloneJson: join(orchDir, 'clone.json'),
    gitignore: join(orchDir, '.gitignore'),
    gitattributes: join(orchDir, '.gitattributes'),
    daemonJson: join(orchDir, 'daemon.json'),
    daemonLock: join(orchDir, 'daemon.lock'),
    daemonLog: join(orchDir, 'daemon.log'),
    daemonOut: join(orchDir, 'daemon.out'),
    daemonExit: join(orchDir, 'daemon.exit.json'),
    cleanMark: join(orchDir, 'daemon.clean'),
    migrationLock: join(orchDir, '.migration.lock'),
    migrationMarker: join(orchDir, '.migration_complete'),
    workflowYaml: join(root, 'workflow.yaml'),
    legacy: {
      state: join(root, '.workflow_state.json'),
      log: join(root, '.workflow_log.jsonl'),
      checkpoints: join(root, '.workflow_checkpoints'),
      toolFeedback: join(root, '.workflow_tool_feedback.jsonl'),
      processFeedback: join(root, '.workflow_process_feedback.jsonl'),
    },
  };
}

/**
 * Paths of one session. Throws on an id that is not a session id, so no caller can build a path
 * from a hostile id (`../..`, `/etc`, empty).
 */
export function sessionPaths(paths: RepoPaths, id: string): SessionPaths {
  if (!isSessionId(id)) throw new Error(`Invalid session id ${JSON.stringify(id)}.`);
  const dir = join(paths.sessionsDir, id);
  return {
    dir,
    state: join(dir, 'state.json'),
    log: join(dir, 'log.jsonl'),
    meta: join(dir, 'meta.json'),
    pending: join(dir, 'commit.pending'),
    checkpoints: join(dir, 'checkpoints'),
    feedback: join(dir, 'feedback'),
  };
}

/**
 * Creates `.orchestrator/sessions/` and, given a session, its `checkpoints/` and `feedback/`,
 * refusing a symbolic link at any level (protocol/safe-fs.ts).
 */
export function ensureSessionDirs(paths: RepoPaths, session?: SessionPaths): void {
  mkdirNoFollow(paths.sessionsDir);
  if (session) {
    mkdirNoFollow(session.checkpoints);
    mkdirNoFollow(session.feedback);
  }
}

/** True when `target` (absolute) is `root` itself or lies below it. Purely lexical. */
export function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** Longest socket path we bind: Linux allows 107 bytes, macOS 103; Node truncates silently. */
export const MAX_SOCKET_PATH_BYTES = 100;

/**
 * The daemon's socket path: always in a short, owner-only runtime directory outside the repo
 * (`$ORCH_SOCKET_DIR`, else `$XDG_RUNTIME_DIR/orch`, else `<tmpdir>/orch-<uid>`), named by a hash of
 * the repo root, so its length never depends on the repo's depth. Clients never call this: they read
 * the path from the daemon's registration.
 */
export function socketDirFor(env: NodeJS.ProcessEnv, uid: number): string {
  if (env.ORCH_SOCKET_DIR) return resolve(env.ORCH_SOCKET_DIR);
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'orch');
  return join(tmpdir(), `orch-${uid}`);
}

/** Socket file path for a repo inside `socketDir`. */
export function socketPathFor(socketDir: string, root: string): string {
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 16);
  return join(socketDir, `${hash}.sock`);
}
