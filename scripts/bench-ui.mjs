/**
 * Issue 16 in `npm run bench` (section 12): the `orch ui` dashboard in Debian's headless Chromium
 * (playwright-core, a devDependency). How soon the page's DOM shows a change once it is on disk,
 * and what the server costs in memory with 10 pages open. Without Chromium the section says so and
 * measures nothing.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { manyItemsWorkflow, nowMs, rssMb, sleep, summarize } from './bench-lib.mjs';

const CHROMIUM = process.env.ORCH_TEST_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

/** Wall-clock time in ms with sub-ms resolution, comparable with the page's performance.timeOrigin + now(). */
const epochMs = () => performance.timeOrigin + performance.now();

function hasChromium() {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Spawns `orch ui --no-open --json` and reads its {url, port, pid}. */
function startUi(cli, root, env) {
  const child = spawn(process.execPath, [cli, 'ui', '--no-open', '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`orch ui printed no URL within 30 s: ${err}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      resolve({ ...JSON.parse(out.slice(0, out.indexOf('\n'))), child });
    });
    child.on('exit', (code) => reject(new Error(`orch ui exited ${code}: ${err}`)));
  });
}

/** Resolves (in the page) with the time the item shows as completed in the checklist. */
function armObserver(page, itemId) {
  return page.evaluate((id) => {
    window.__seen = new Promise((resolve) => {
      const selector = `#detail [data-item="${id}"][data-status="completed"]`;
      const check = () => {
        if (!document.querySelector(selector)) return false;
        resolve(performance.timeOrigin + performance.now());
        return true;
      };
      if (check()) return;
      const obs = new MutationObserver(() => {
        if (check()) obs.disconnect();
      });
      obs.observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  }, itemId);
}

export async function dashboardCost(space, cli, { runs, pages }) {
  if (!hasChromium()) return { skipped: `no Chromium at ${CHROMIUM} (apt-get install -y chromium)` };
  const { chromium } = await import('playwright-core');
  const warmups = 3;
  const root = space.repo('ui');
  writeFileSync(join(root, 'workflow.yaml'), manyItemsWorkflow(runs + warmups + 2));
  const lib = await space.lib();
  const writer = await space.connect(root);
  await writer.request(lib.SessionStartRequest, { task: 'Benchmark the dashboard' });
  const ui = await startUi(cli, root, space.env({ ORCH_ACTOR_KIND: 'human' }));
  // One browser (playwright gives it an empty temporary profile and removes it), one context per
  // page: like separate browsers, since one profile keeps at most 6 connections to a host open
  // and each live page holds one (its event stream).
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  const newPage = async () => (await browser.newContext()).newPage();
  try {
    const first = await newPage();
    await first.goto(ui.url);
    await first.waitForSelector('#detail [data-item="item_0"]', { timeout: 30_000 });
    const rssOnePage = rssMb(ui.pid);
    const afterReply = [];
    const fromSend = [];
    for (let i = 0; i < runs + warmups; i++) {
      const itemId = `item_${i}`;
      await armObserver(first, itemId);
      const sent = epochMs();
      await writer.request(lib.ItemCompleteRequest, { itemId });
      const replied = epochMs();
      const seen = await first.evaluate(() => window.__seen);
      if (i < warmups) continue;
      afterReply.push(seen - replied);
      fromSend.push(seen - sent);
    }
    // Nine more pages, all live; one more change reaches every page; then the server's RSS.
    const all = [first];
    for (let i = 1; i < pages; i++) {
      const p = await newPage();
      await p.goto(ui.url);
      await p.waitForSelector('#detail [data-item="item_0"]', { timeout: 30_000 });
      all.push(p);
    }
    const last = `item_${runs + warmups}`;
    await writer.request(lib.ItemCompleteRequest, { itemId: last });
    await Promise.all(all.map((p) => p.waitForSelector(`#detail [data-item="${last}"][data-status="completed"]`, { timeout: 30_000 })));
    await sleep(500);
    const rssPages = rssMb(ui.pid);
    return { pages, runs: afterReply.length, afterReply: summarize(afterReply), fromSend: summarize(fromSend), rssOnePage, rssPages };
  } finally {
    await browser.close();
    ui.child.kill('SIGTERM');
    const deadline = nowMs() + 10_000;
    while (ui.child.exitCode === null && ui.child.signalCode === null && nowMs() < deadline) await sleep(10);
    if (ui.child.exitCode === null && ui.child.signalCode === null) ui.child.kill('SIGKILL');
    await space.stopDaemon(root, writer);
    space.removeRepo(root);
  }
}
