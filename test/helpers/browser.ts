/**
 * Browser tests: `orch ui` spawned as users run it, and Debian's Chromium driven by playwright-core
 * (never a downloaded browser). Without Chromium the tests are skipped, and the run says so loudly,
 * naming each skipped test and how to install it: a silent skip would pass CI while testing nothing.
 */
import { test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { ORCH_CLI, orchEnv } from './run-orch.js';
import { makeTempDir } from './temp-repo.js';

/** Debian's Chromium (ORCH_TEST_CHROMIUM names another binary). */
export const CHROMIUM_PATH = process.env.ORCH_TEST_CHROMIUM || '/usr/bin/chromium';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const hasChromium = executable(CHROMIUM_PATH);

/** The flags the issue names: headless, no sandbox (containers), nothing that reaches the network. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

/**
 * Said when each skipped test is registered (a file whose tests are all skipped runs no hooks, so
 * an afterAll would stay silent): one loud line per test, naming it and why.
 */
function announceSkip(name: string): void {
  process.stderr.write(`\n!!! SKIPPED browser test (no Chromium at ${CHROMIUM_PATH}; install it with: apt-get install -y chromium): ${name}\n`);
}

/** A test that needs Chromium: run when it is installed, else skipped and named in the loud notice. */
export function browserTest(name: string, fn: () => Promise<void>, timeoutMs = 120_000): void {
  if (hasChromium) test(name, fn, timeoutMs);
  else {
    announceSkip(name);
    test.skip(name, fn);
  }
}

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

/** Headless Chromium with an empty profile in a temp folder (removed by close, or by the run's teardown). */
export async function launchBrowser(): Promise<Browser> {
  const profile = makeTempDir('orch-chromium-');
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 800 },
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

export interface UiProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Output the server wrote so far (for failure messages). */
  stderr(): string;
  /** Ctrl-C (SIGTERM), then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

/** Spawns `orch ui --no-open --json` (`open: true`: without --no-open) in `root` and reads its one line: {"url", "port", "pid"}. */
export function startUi(root: string, env: NodeJS.ProcessEnv = {}, opts: { open?: boolean } = {}): Promise<UiProcess> {
  const child = spawn(process.execPath, [ORCH_CLI, 'ui', ...(opts.open ? [] : ['--no-open']), '--json'], { cwd: root, env: orchEnv({ ORCH_DAEMON: '1', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`orch ui printed no URL within 30 s\nstdout: ${out}\nstderr: ${err}`));
    }, 30_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const first = JSON.parse(out.slice(0, nl)) as { url: string; port: number; pid: number };
        resolve({ ...first, child, stderr: () => err, stop });
      } catch {
        void stop();
        reject(new Error(`orch ui's first line is not JSON: ${out.slice(0, nl)}\nstderr: ${err}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`orch ui exited (${code}) before printing its URL\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}
