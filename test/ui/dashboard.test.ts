/**
 * Issue 16: the `orch ui` page, driven in headless Debian Chromium (playwright-core). The built
 * `orch ui` and `orch` are spawned against a real daemon in a real temp repo: the page lists every
 * session; a change made from the CLI shows without a reload; Approve (click or keyboard) wakes an
 * `orch wait` in another process and is recorded as the git user through channel web; a daemon
 * killed under the page brings a banner and the page carries on with the new daemon. Also makes the
 * README's screenshot (docs/orch-ui.png), rewritten only with ORCH_UPDATE_SCREENSHOT=1.
 */
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserTest, launchBrowser, startUi, type Browser, type UiProcess } from '../helpers/browser.js';
import { readRegistration } from '../helpers/daemons.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { ORCH_CLI, orchEnv, runOrch, runOrchJson, AS_PERSON_WITH_DAEMON as PERSON } from '../helpers/run-orch.js';
import { waitFor } from '../helpers/wait-for.js';

const GATED = `name: "Review gates"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    exit_gate: human_approval
    items:
      - id: write_plan
        name: "Write the plan"
      - id: plan_review
        name: "A person reviews the plan"
        verification: { type: manual_gate, description: "Read docs/plan.md" }
  - id: BUILD
    name: "Build"
    items:
      - id: implement
        name: "Implement it"
      - id: tests_pass
        name: "Tests pass"
`;

const browsers: Browser[] = [];
const servers: UiProcess[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const b of browsers.splice(0)) await b.close();
  for (const s of servers.splice(0)) await s.stop();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
// Declared after the hook above, so the servers (daemon clients that would restart a daemon) stop before the repos go.
const { repo } = useRepoRegistry();

async function orch(root: string, ...args: string[]): Promise<void> {
  const r = await runOrch([...args, '-q'], { cwd: root, env: PERSON });
  if (r.code !== 0) throw new Error(`orch ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
}

async function gatedRepo(): Promise<string> {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), GATED);
  return r.root;
}

async function start(root: string, task: string): Promise<string> {
  const { code, json } = await runOrchJson(['start', task], { cwd: root, env: PERSON });
  expect(code).toBe(0);
  return json.sessionId;
}

/** The server and a page signed in with its URL, showing `sessionId` (default: the current session). */
async function openPage(root: string, sessionId?: string): Promise<{ ui: UiProcess; page: Page }> {
  const ui = await startUi(root, PERSON);
  servers.push(ui);
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(ui.url + (sessionId ? `#session=${sessionId}` : ''));
  await page.waitForSelector('#sessions tbody tr', { timeout: 30_000 });
  expect(page.url()).not.toContain('token=');
  expect(errors).toEqual([]);
  return { ui, page };
}

const itemStatus = (page: Page, id: string) => page.getAttribute(`#detail [data-item="${id}"]`, 'data-status');

describe('orch ui in the browser', () => {
  browserTest('the session list shows every session, newest first, with task, status, phase and progress', async () => {
    const root = await gatedRepo();
    const ids = [await start(root, 'First task'), await start(root, 'Second task'), await start(root, 'Third task')];
    await orch(root, 'complete', 'write_plan');
    await orch(root, 'finish', '--abandon', '--reason', 'not needed', '--session', ids[0]!);
    const { page } = await openPage(root);
    const listed = await runOrchJson(['sessions'], { cwd: root, env: PERSON });
    const expected = (listed.json as { sessionId: string }[]).map((s) => s.sessionId);
    expect(expected).toHaveLength(3);
    const rows = await page.evaluate<string[][]>("[...document.querySelectorAll('#sessions tbody tr')].map((tr) => [tr.dataset.session, tr.dataset.status, tr.textContent])");
    expect(rows.map((r) => r[0])).toEqual(expected);
    expect(rows[0]).toEqual([ids[2], 'active', expect.stringMatching(/Third task.*active.*current.*Plan.*1\/4/)]);
    expect(rows.find((r) => r[0] === ids[0])![1]).toBe('abandoned');
    // The current session's checklist, with the CLI's marks.
    expect(await page.textContent('#detail [data-item="write_plan"] .mark')).toBe('✓');
    expect(await page.textContent('#detail [data-item="plan_review"] .mark')).toBe('○');
  });

  browserTest('a completion made from the CLI appears on the page within 2 s, without a reload', async () => {
    const root = await gatedRepo();
    await start(root, 'Watch it live');
    const { page } = await openPage(root);
    expect(await itemStatus(page, 'write_plan')).toBe('pending');
    await page.evaluate('window.marker = 1');
    await orch(root, 'complete', 'write_plan', '--notes', 'plan in docs/plan.md');
    await page.waitForSelector('#detail [data-item="write_plan"][data-status="completed"]', { timeout: 2000 });
    await page.waitForSelector('#detail .log li:has-text("item_completed")', { timeout: 30_000 });
    // No reload happened: the page's own state is still there.
    expect(await page.evaluate('window.marker')).toBe(1);
    // A session started elsewhere joins the list, live too.
    await start(root, 'Started while watching');
    await page.waitForSelector('#sessions tbody tr:has-text("Started while watching")', { timeout: 30_000 });
  });

  browserTest('clicking Approve on a gate makes orch wait in another process return, recorded with the git user and channel web', async () => {
    const root = await gatedRepo();
    await start(root, 'Needs a person');
    await orch(root, 'complete', 'write_plan');
    const waiting = spawn(process.execPath, [ORCH_CLI, 'wait', '--item', 'plan_review', '--timeout', '5m', '--json'], { cwd: root, env: orchEnv({ ORCH_DAEMON: '1', CLAUDECODE: '1' }), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(waiting);
    let out = '';
    waiting.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => waiting.on('close', (code) => resolve(code)));
    const { ui, page } = await openPage(root);
    // The wait is parked in the daemon before anyone approves.
    await waitFor(async () => (await runOrchJson(['who'], { cwd: root, env: PERSON })).json.connections.some((c: { pid: number; lastMethod: string }) => c.pid === waiting.pid && c.lastMethod === 'gate/wait'), 'orch wait to be parked in gate/wait', 30_000, 50);
    const gate = page.locator('[data-gate$="/item/plan_review"]');
    await expect(gate.textContent()).resolves.toContain('A person reviews the plan');
    await gate.locator('input[name="note"]').fill('Plan reads well');
    await gate.locator('button').click();
    expect(await exited).toBe(0);
    const doc = JSON.parse(out);
    expect(doc).toMatchObject({ outcome: 'open', itemId: 'plan_review', approvedBy: { by: 'orch test', channel: 'web' } });
    const { json } = await runOrchJson(['status'], { cwd: root, env: PERSON });
    expect(json.items.find((i: { id: string }) => i.id === 'plan_review')).toMatchObject({ status: 'completed', notes: 'Plan reads well', approvedBy: { by: 'orch test', channel: 'web', pid: ui.pid } });
    // Next the phase gate: approved from the keyboard alone (Tab to the button, Enter).
    const phase = page.locator('[data-gate$="/phase/PLAN"]');
    await phase.waitFor({ timeout: 30_000 });
    await page.locator('[data-gate$="/item/plan_review"]').waitFor({ state: 'detached', timeout: 30_000 });
    await phase.locator('button').focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#waiting li.empty', { timeout: 30_000 });
    const after = await runOrchJson(['status'], { cwd: root, env: PERSON });
    expect(after.json.phaseApprovedBy).toMatchObject({ by: 'orch test', channel: 'web' });
    expect(after.json.canAdvance).toBe(true);
  });

  browserTest('a daemon killed under the page brings a banner, and the page goes on live with the new daemon', async () => {
    const root = await gatedRepo();
    await start(root, 'Survive a restart');
    const { page } = await openPage(root);
    const before = readRegistration(root)!;
    process.kill(before.pid, 'SIGKILL');
    await page.waitForSelector('#banner:not([hidden])', { timeout: 30_000 });
    await page.waitForSelector('#banner:has-text("restarted")', { timeout: 30_000 });
    expect(readRegistration(root)!.instanceId).not.toBe(before.instanceId);
    await orch(root, 'complete', 'write_plan');
    await page.waitForSelector('#detail [data-item="write_plan"][data-status="completed"]', { timeout: 30_000 });
  });

  browserTest('the page fits a narrow window and follows prefers-color-scheme; makes the README screenshot', async () => {
    const root = repo({ prefix: 'shop-api-' }).root;
    writeFileSync(join(root, 'workflow.yaml'), GATED);
    await start(root, 'Upgrade the database driver');
    const id = await start(root, 'Add rate limiting to the API');
    await orch(root, 'complete', 'write_plan', '--notes', 'docs/plan.md');
    await orch(root, 'checkpoint', '-m', 'Plan written; waiting for review');
    // Someone watches the session from a terminal: the page says who is connected.
    const watch = spawn(process.execPath, [ORCH_CLI, 'watch', '--session', id], { cwd: root, env: orchEnv(PERSON), stdio: 'ignore' });
    children.push(watch);
    const { page } = await openPage(root);
    await page.waitForSelector('[data-gate$="/item/plan_review"]');
    await page.waitForSelector('#detail .cps li');
    await page.waitForSelector(`#sessions tr[data-session="${id}"] td:has-text("watch")`, { timeout: 30_000 });
    const light = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).not.toBe(light);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 360, height: 800 });
    // Nothing but the session table (which scrolls in its own box) is wider than the window.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.setViewportSize({ width: 1100, height: 760 });
    const png = await page.screenshot({ fullPage: false });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    if (process.env.ORCH_UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(PROJECT_ROOT, 'docs'), { recursive: true });
      writeFileSync(join(PROJECT_ROOT, 'docs', 'orch-ui.png'), png);
    }
  });
});
