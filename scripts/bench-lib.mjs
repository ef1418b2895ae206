/**
 * Plumbing for scripts/bench.mjs: statistics, timed process runs, temp repositories under /tmp,
 * and daemons that are always stopped. Every daemon the benchmark starts is tracked through its
 * repo's registration and killed on exit, even after Ctrl-C, and every temp folder is removed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Nearest-rank quantile (q in 0..1) of a numeric array. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const median = (values) => quantile(values, 0.5);

/** n, median, p90, p99, min, max of a sample. */
export function summarize(values) {
  return {
    n: values.length,
    median: median(values),
    p90: quantile(values, 0.9),
    p99: quantile(values, 0.99),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or `onTimeout()` after `ms` (the timer is cleared either way, so it never holds the process). */
export async function withTimeout(promise, ms, onTimeout) {
  let timer;
  const expired = new Promise((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)));
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Runs `argv` to completion and returns its wall time in ms (fork + exec + run + exit, as a shell
 * user sees it). Output is collected, and a non-zero exit is an error unless `allowFail`.
 */
export function timeRun(argv, { cwd, env, allowFail = false } = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!allowFail && r.status !== 0) {
    throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${String(r.stderr).slice(0, 500)}`);
  }
  return { ms, stdout: String(r.stdout), status: r.status };
}

/** Resident set size of a process in MB (VmRSS from /proc), or null. */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** True while `pid` runs (a zombie counts as exited). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export function readRegistration(root) {
  try {
    return JSON.parse(readFileSync(join(root, '.orchestrator', 'daemon.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The benchmark's scratch space: one folder under /tmp holding every repo and the client's code
 * cache, plus the dist/ modules it talks to the daemon with. `cleanup()` stops every daemon it
 * knows of and removes the folder; it also runs on exit and on SIGINT/SIGTERM.
 */
export class BenchSpace {
  constructor(projectRoot) {
    this.projectRoot = projectRoot;
    this.base = realpathSync(mkdtempSync('/tmp/orch-bench-'));
    this.cacheDir = join(this.base, 'code-cache');
    // Sockets live in the space too (not in the shared /tmp/orch-<uid>), so nothing outlives the run.
    this.socketDir = join(this.base, 'sockets');
    this.repos = [];
    this.pids = new Set();
    this.daemonMain = join(projectRoot, 'dist', 'daemon', 'main.js');
    const onSignal = (sig) => {
      this.killAll();
      rmSync(this.base, { recursive: true, force: true });
      process.stderr.write(`bench: interrupted by ${sig}; daemons stopped, ${this.base} removed\n`);
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('exit', () => this.killAll());
  }

  /** The client library (OrchClient and every protocol type), loaded from the built dist/. */
  async lib() {
    this.libModule ??= await import(pathToFileURL(join(this.projectRoot, 'dist', 'client', 'lib.js')).href);
    return this.libModule;
  }

  /** Environment for every orch process: the daemon on, this space's code cache and sockets, no stray session. */
  env(extra = {}) {
    const env = { ...process.env, ORCH_DAEMON: '1', ORCH_IDLE_TIMEOUT_MS: '900000', ORCH_CACHE_DIR: this.cacheDir, ORCH_SOCKET_DIR: this.socketDir, ...extra };
    delete env.ORCH_SESSION;
    delete env.ORCH_ROOT;
    return env;
  }

  /** A new git repository (a `.git` folder, without git installed) under the space. */
  repo(name) {
    const root = join(this.base, name);
    mkdirSync(root);
    try {
      execFileSync('git', ['init', '-q'], { cwd: root, stdio: 'ignore' });
    } catch {
      mkdirSync(join(root, '.git'));
    }
    this.repos.push(root);
    return root;
  }

  /** A client connection (OrchClient), starting the daemon when none runs unless `autoStart` is false. */
  async connect(root, { autoStart = true } = {}) {
    const { OrchClient } = await this.lib();
    const client = await OrchClient.connect({ root, env: this.env(), autoStart, reconnect: false });
    this.track(root);
    return client;
  }

  track(root) {
    const reg = readRegistration(root);
    if (reg?.pid) this.pids.add(reg.pid);
    return reg;
  }

  /**
   * Spawns a daemon for `root` exactly as the client does (by path, detached, output to
   * daemon.out) and waits until it answers daemon/hello. Returns its pid and the time taken.
   */
  async spawnDaemon(root, timeoutMs = 60_000) {
    // The same Node flags as the client gives it: declared once, in client/ensure-daemon.ts.
    const { DAEMON_NODE_FLAGS } = await import(pathToFileURL(join(this.projectRoot, 'dist', 'client', 'ensure-daemon.js')).href);
    mkdirSync(join(root, '.orchestrator'), { recursive: true });
    const out = openSync(join(root, '.orchestrator', 'daemon.out'), 'a');
    const start = nowMs();
    const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, this.daemonMain, '--root', root, '--reason', 'benchmark'], {
      detached: true,
      stdio: ['ignore', out, out],
      cwd: '/',
      env: this.env(),
    });
    closeSync(out);
    child.unref();
    this.pids.add(child.pid);
    const { OrchClient } = await this.lib();
    for (;;) {
      if (readRegistration(root)?.pid === child.pid) {
        try {
          const client = await OrchClient.connect({ root, env: this.env(), autoStart: false, reconnect: false });
          return { pid: child.pid, ms: nowMs() - start, client };
        } catch {
          // registered but not answering yet
        }
      }
      if (!isAlive(child.pid)) throw new Error(`the daemon for ${root} exited during start; see ${root}/.orchestrator/daemon.out`);
      if (nowMs() - start > timeoutMs) throw new Error(`the daemon for ${root} did not answer within ${timeoutMs} ms`);
      await sleep(5);
    }
  }

  /** Stops the repo's daemon (daemon/shutdown, then SIGTERM, then SIGKILL) and waits for it to exit. */
  async stopDaemon(root, client = null) {
    const reg = readRegistration(root);
    const pid = reg?.pid;
    if (!pid) return;
    const lib = await this.lib();
    try {
      const c = client ?? (await lib.OrchClient.connect({ root, env: this.env(), autoStart: false, reconnect: false }));
      await withTimeout(c.request(lib.DaemonShutdownRequest, { reason: 'benchmark' }), 2000, () => null);
      c.close();
    } catch {
      // not answering: signals below
    }
    await this.waitExit(pid, 5000, 'SIGTERM');
    await this.waitExit(pid, 5000, 'SIGKILL');
    this.pids.delete(pid);
  }

  async waitExit(pid, ms, signal) {
    const deadline = nowMs() + ms;
    while (isAlive(pid) && nowMs() < deadline) await sleep(5);
    if (isAlive(pid)) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    }
  }

  /** Removes one repo's folder (after its daemon stopped) to keep the disk footprint small. */
  removeRepo(root) {
    rmSync(root, { recursive: true, force: true });
  }

  /** Synchronous last resort: SIGKILL every daemon registered by a repo of this space. */
  killAll() {
    for (const root of this.repos) {
      const pid = existsSync(root) ? readRegistration(root)?.pid : undefined;
      if (pid) this.pids.add(pid);
    }
    for (const pid of this.pids) {
      try {
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.pids.clear();
  }

  async cleanup() {
    for (const root of this.repos) if (existsSync(root)) await this.stopDaemon(root).catch(() => undefined);
    this.killAll();
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** A workflow with one phase of `n` plain checklist items (`item_0` … `item_{n-1}`). */
export function manyItemsWorkflow(n, name = 'Benchmark') {
  const items = Array.from({ length: n }, (_, i) => `      - id: item_${i}\n        name: "Item ${i}"\n`).join('');
  return `name: "${name}"\nversion: "1.0"\nphases:\n  - id: WORK\n    name: "Work"\n    items:\n${items}`;
}
