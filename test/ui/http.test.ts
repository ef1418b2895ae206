/**
 * Issue 16, "Secure by default": `orch ui`'s server, spoken to with plain node:http as an attacker
 * would. Every request needs the token (traded once for an HttpOnly, SameSite=Strict cookie); a
 * foreign Host is refused (DNS rebinding); the one change, an approval, is a same-origin POST; no
 * CORS; a strict CSP; bounded bodies and pages. The built `orch ui` is spawned against a real
 * daemon in a real temp repo.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startUi, type UiProcess } from '../helpers/browser.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { runOrch, runOrchJson, AS_PERSON_WITH_DAEMON as PERSON } from '../helpers/run-orch.js';
import { waitFor } from '../helpers/wait-for.js';

const GATED = `name: "Gates"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    exit_gate: human_approval
    items:
      - id: sign_off
        name: "Plan signed off"
        verification: { type: manual_gate, description: "A person reads the plan" }
`;

const servers: UiProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});
// Declared after the hook above, so the servers (daemon clients that would restart a daemon) stop before the repos go.
const { repo } = useRepoRegistry();

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request; for an event stream, resolves on the headers and closes it. */
function call(port: number, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // host '' sends no Host header at all (node adds one otherwise).
    const { host, ...rest } = opts.headers ?? {};
    const headers = host === '' ? rest : { ...rest, ...(host !== undefined ? { host } : {}) };
    const req = httpRequest({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers, setHost: host !== '' }, (res) => {
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve({ status: res.statusCode!, headers: res.headers, body: '' });
        res.destroy();
        return;
      }
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function gatedUi(): Promise<{ root: string; ui: UiProcess; sessionId: string; cookie: string; host: string; origin: string }> {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), GATED);
  const started = await runOrchJson(['start', 'Guard the door'], { cwd: r.root, env: PERSON });
  expect(started.code).toBe(0);
  const ui = await startUi(r.root, PERSON);
  servers.push(ui);
  const token = new URL(ui.url).searchParams.get('token')!;
  return { root: r.root, ui, sessionId: started.json.sessionId, cookie: `orch_ui_${ui.port}=${token}`, host: `127.0.0.1:${ui.port}`, origin: `http://127.0.0.1:${ui.port}` };
}

async function itemStatus(root: string): Promise<string> {
  const { json } = await runOrchJson(['status'], { cwd: root, env: PERSON });
  return json.items.find((i: { id: string }) => i.id === 'sign_off').status;
}

describe('orch ui: who may talk to the server', () => {
  test('orch ui --json prints one line {url, port, pid}: a 127.0.0.1 URL with a token, and its own pid', async () => {
    const { ui } = await gatedUi();
    const url = new URL(ui.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(ui.port);
    expect(url.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(ui.pid).toBe(ui.child.pid);
  });

  test('a request without the token (or with a wrong one) is refused with 401, for the page, the data and the stream alike', async () => {
    const { ui, host } = await gatedUi();
    for (const path of ['/', '/app.js', '/api/state', '/events']) {
      expect({ path, status: (await call(ui.port, { path, headers: { host } })).status }).toEqual({ path, status: 401 });
      const wrong = await call(ui.port, { path, headers: { host, cookie: `orch_ui_${ui.port}=not-the-token` } });
      expect({ path, status: wrong.status }).toEqual({ path, status: 401 });
    }
    expect((await call(ui.port, { path: '/?token=guessed', headers: { host } })).status).toBe(401);
  });

  test('the token in the URL is traded for an HttpOnly, SameSite=Strict cookie and a redirect that drops it from the address', async () => {
    const { ui, host, cookie } = await gatedUi();
    const login = await call(ui.port, { path: new URL(ui.url).pathname + new URL(ui.url).search, headers: { host } });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    expect(login.headers['set-cookie']).toEqual([`${cookie}; HttpOnly; SameSite=Strict; Path=/`]);
    const page = await call(ui.port, { path: '/', headers: { host, cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/app.js" defer></script>');
  });

  test('a Host header other than 127.0.0.1:<port> or localhost:<port> is refused with 403, even with the token', async () => {
    const { ui, cookie } = await gatedUi();
    for (const host of ['evil.example', `evil.example:${ui.port}`, `127.0.0.1:${ui.port + 1}`, `127.0.0.1.nip.io:${ui.port}`]) {
      const r = await call(ui.port, { path: '/api/state', headers: { host, cookie } });
      expect({ host, status: r.status }).toEqual({ host, status: 403 });
    }
    // No Host at all: HTTP/1.1 requires one, and node's parser refuses the request (400) before it reaches the server.
    expect((await call(ui.port, { path: '/api/state', headers: { host: '', cookie } })).status).toBe(400);
    expect((await call(ui.port, { path: '/api/state', headers: { host: `localhost:${ui.port}`, cookie } })).status).toBe(200);
  });

  test('a cross-origin POST (or one without Origin) is refused with 403, even with the cookie, and changes nothing', async () => {
    const { root, ui, host, cookie, sessionId } = await gatedUi();
    const body = JSON.stringify({ sessionId, kind: 'item', id: 'sign_off' });
    const json = { host, cookie, 'content-type': 'application/json' };
    for (const origin of ['http://evil.example', `http://127.0.0.1:${ui.port + 1}`, 'null']) {
      const r = await call(ui.port, { path: '/api/approve', method: 'POST', headers: { ...json, origin }, body });
      expect({ origin, status: r.status }).toEqual({ origin, status: 403 });
    }
    expect((await call(ui.port, { path: '/api/approve', method: 'POST', headers: json, body })).status).toBe(403);
    // State changes are POST only: a GET (a link, an <img>) reaches nothing.
    expect((await call(ui.port, { path: `/api/approve?sessionId=${sessionId}&kind=item&id=sign_off`, headers: { host, cookie } })).status).toBe(404);
    expect((await call(ui.port, { path: '/api/approve', method: 'PUT', headers: { ...json, origin: `http://127.0.0.1:${ui.port}` }, body })).status).toBe(405);
    expect(await itemStatus(root)).toBe('pending');
  });

  test('responses carry a strict Content-Security-Policy and never a CORS header', async () => {
    const { ui, host, cookie, origin } = await gatedUi();
    for (const path of ['/', '/app.js', '/api/state']) {
      const r = await call(ui.port, { path, headers: { host, cookie, origin: 'http://evil.example' } });
      expect(r.status).toBe(200);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    const pre = await call(ui.port, { path: '/api/approve', method: 'OPTIONS', headers: { host, origin, 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(405);
    expect(Object.keys(pre.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  test('a same-origin POST with the cookie approves the gate, recorded as the git user through channel web', async () => {
    const { root, ui, host, cookie, origin, sessionId } = await gatedUi();
    const r = await call(ui.port, {
      path: '/api/approve',
      method: 'POST',
      headers: { host, cookie, origin, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId, kind: 'item', id: 'sign_off', note: 'read it' }),
    });
    expect({ status: r.status, body: JSON.parse(r.body) }).toEqual({ status: 200, body: { ok: true, message: expect.stringContaining('sign_off') } });
    const { json } = await runOrchJson(['status'], { cwd: root, env: PERSON });
    const item = json.items.find((i: { id: string }) => i.id === 'sign_off');
    expect(item).toMatchObject({ status: 'completed', notes: 'read it', approvedBy: { by: 'orch test', channel: 'web', pid: ui.pid } });
  });

  test('bodies over 16 KiB, malformed approvals and a 33rd live page are refused; the server keeps serving', async () => {
    const { ui, host, cookie, origin, sessionId } = await gatedUi();
    const post = (body: string | Buffer) => call(ui.port, { path: '/api/approve', method: 'POST', headers: { host, cookie, origin, 'content-type': 'application/json' }, body });
    expect((await post(Buffer.alloc(17 * 1024, 0x20))).status).toBe(413);
    expect((await post('{"sessionId": "../../etc", "kind": "item", "id": "x"}')).status).toBe(400);
    expect((await post(JSON.stringify({ sessionId, kind: 'item', id: 'a/b' }))).status).toBe(400);
    expect((await post(JSON.stringify({ sessionId, kind: 'other', id: 'sign_off' }))).status).toBe(400);
    expect((await post(JSON.stringify({ sessionId, kind: 'item', id: 'nope' }))).status).toBe(409);
    const open: Promise<Reply>[] = [];
    const streams: import('node:http').ClientRequest[] = [];
    for (let i = 0; i < 32; i += 1) {
      open.push(
        new Promise((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: ui.port, path: '/events', headers: { host, cookie } }, (res) => resolve({ status: res.statusCode!, headers: res.headers, body: '' }));
          req.on('error', reject);
          req.end();
          streams.push(req);
        }),
      );
    }
    try {
      expect((await Promise.all(open)).map((r) => r.status)).toEqual(Array(32).fill(200));
      expect((await call(ui.port, { path: '/events', headers: { host, cookie } })).status).toBe(503);
    } finally {
      for (const s of streams) s.destroy();
    }
    expect((await call(ui.port, { path: '/api/state', headers: { host, cookie } })).status).toBe(200);
  });

  test('without --no-open the URL goes to the system browser opener (xdg-open, which honours $BROWSER)', async () => {
    const r = repo();
    const browser = join(r.root, 'fake-browser');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${join(r.root, 'opened')}'\n`);
    chmodSync(browser, 0o755);
    const ui = await startUi(r.root, { ...PERSON, BROWSER: browser, DISPLAY: '', WAYLAND_DISPLAY: '', XDG_CURRENT_DESKTOP: '' }, { open: true });
    servers.push(ui);
    const opened = await waitFor(() => {
      try {
        return readFileSync(join(r.root, 'opened'), 'utf8');
      } catch {
        return null;
      }
    }, 'the fake browser to be started with the URL');
    expect(opened).toBe(ui.url);
  });

  test('a --port in use is refused with exit 2, naming the port and the fix', async () => {
    const { root, ui } = await gatedUi();
    const r = await runOrch(['ui', '--no-open', '--port', String(ui.port)], { cwd: root, env: PERSON });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Port ${ui.port} is in use; pick another with --port`);
    expect(r.stdout).toBe('');
  });

  test('after orch daemon stop the server says so and refuses approvals (503) until a new daemon runs, then approves again', async () => {
    const { root, ui, host, cookie, origin, sessionId } = await gatedUi();
    const state = async () => JSON.parse((await call(ui.port, { path: '/api/state', headers: { host, cookie } })).body).daemon;
    expect((await runOrch(['daemon', 'stop'], { cwd: root, env: PERSON })).code).toBe(0);
    await waitFor(async () => (await state()).state === 'stopped', 'the server to notice the stop');
    expect((await state()).note).toContain('waiting until an orch command starts it again');
    const approve = () =>
      call(ui.port, { path: '/api/approve', method: 'POST', headers: { host, cookie, origin, 'content-type': 'application/json' }, body: JSON.stringify({ sessionId, kind: 'item', id: 'sign_off' }) });
    expect((await approve()).status).toBe(503);
    expect((await runOrch(['status'], { cwd: root, env: PERSON })).code).toBe(0);
    await waitFor(async () => (await state()).state === 'connected', 'the server to reconnect to the new daemon');
    expect((await approve()).status).toBe(200);
    expect(await itemStatus(root)).toBe('completed');
  });

  test('the server is a client of the daemon: orch who lists it as kind web', async () => {
    const { root, ui } = await gatedUi();
    const { json } = await runOrchJson(['who'], { cwd: root, env: PERSON });
    expect(json.connections).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'web', pid: ui.pid, agent: false })]));
  });
});
