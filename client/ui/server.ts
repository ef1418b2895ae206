/**
 * `orch ui`'s web server: a client of the repository's daemon (hello as kind `web`; it never
 * writes `.orchestrator/` itself) that serves one page and streams the dashboard to it with
 * Server-Sent Events. Loaded by path at run time (ui-launch.ts), so its code stays out of the CLI
 * bundle.
 *
 * Security model (README → orch ui):
 *   - bound to 127.0.0.1 only;
 *   - every request needs the token: `/?token=…` (printed once) is exchanged for an HttpOnly,
 *     SameSite=Strict cookie named for the port, then the page works with the cookie;
 *   - a Host other than 127.0.0.1:<port> or localhost:<port> is refused (403: DNS rebinding);
 *   - the one change the page can make, an approval, is a POST with a same-origin Origin (else 403)
 *     and a JSON body of at most 16 KiB; no CORS headers are ever sent;
 *   - a strict Content-Security-Policy: scripts, styles and connections from this origin only, no
 *     inline script, no frames.
 * Bounded: at most 32 live pages (SSE streams), 4 MiB unread per stream, 64 sockets, short header
 * and body timeouts.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { basename } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { isSessionId } from '../../protocol/node/paths.js';
import { SessionStatusRequest } from '../../protocol/session.js';
import { CheckpointListRequest, ItemApproveRequest, LogReadRequest, PhaseApproveRequest } from '../../protocol/workflow.js';
import { personName } from '../approver.js';
import { OrchClient } from '../lib.js';
import type { ApproveAnswer, ApproveBody, SessionDetail, Snapshot } from './api.js';
import { DashboardModel } from './model.js';

export const MAX_SSE_CLIENTS = 32;
export const MAX_SOCKETS = 64;
export const MAX_BODY_BYTES = 16 * 1024;
/** What a page may leave unread on its event stream before it is dropped. */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
const MAX_NOTE = 2000;
const LOG_TAIL = 30;
const CHECKPOINTS_SHOWN = 20;
/** A request to the daemon that takes longer (daemon stopped, nobody restarts it) is answered 503. */
const DAEMON_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 15_000;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export interface UiServerOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  /** 0 (default): a free port chosen by the system. */
  port?: number;
  /** The approver's name; default git config user.name, else $USER. */
  approver?: string;
}

export interface UiServer {
  /** `http://127.0.0.1:<port>/?token=<token>`. */
  url: string;
  port: number;
  token: string;
  /** Stops serving, ends every page's stream, closes the daemon connection. */
  close(): Promise<void>;
}

function loadAssets(): Map<string, Buffer> {
  const dir = new URL('./assets/', import.meta.url);
  const out = new Map<string, Buffer>();
  for (const { file } of Object.values(ASSETS)) out.set(file, readFileSync(new URL(file, dir)));
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error('the daemon did not answer in time'), { status: 503 })), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return null;
}

function sameSecret(a: string | null, b: string): boolean {
  if (a === null) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_BODY_BYTES) return reject(Object.assign(new Error('request body too large'), { status: 413 }));
    const chunks: Buffer[] = [];
    let size = 0;
    req.setTimeout(10_000, () => req.destroy());
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The approve body, checked field by field (anything else is a 400). */
function parseApprove(raw: string): ApproveBody | string {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return 'the body is not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'the body is not a JSON object';
  const b = v as Record<string, unknown>;
  if (!isSessionId(b.sessionId)) return 'sessionId is not a session id';
  if (b.kind !== 'item' && b.kind !== 'phase') return 'kind must be item or phase';
  if (typeof b.id !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(b.id)) return 'id is not an item or phase id';
  if (b.note !== undefined && (typeof b.note !== 'string' || b.note.length > MAX_NOTE)) return `note must be text of at most ${MAX_NOTE} characters`;
  const note = typeof b.note === 'string' && b.note.trim() !== '' ? b.note.trim() : undefined;
  return { sessionId: b.sessionId, kind: b.kind, id: b.id, ...(note !== undefined ? { note } : {}) };
}

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const assets = loadAssets();
  const approver = opts.approver ?? (await personName(opts.root, opts.env)) ?? 'unknown';
  // Like orch watch: a deliberate `orch daemon stop` sticks; the page says so and waits.
  const client = await OrchClient.connect({ root: opts.root, env: opts.env, restartAfterAnnouncedStop: false, client: { kind: 'web' } });
  const model = new DashboardModel(client, basename(opts.root), approver);
  try {
    await model.start();
  } catch (err) {
    client.close();
    throw err;
  }
  const token = randomBytes(24).toString('base64url');
  const streams = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let port = 0;
  const cookieName = () => `orch_ui_${port}`;

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const security: Record<string, string> = {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  };

  const frame = (snap: Snapshot) => `event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`;
  /** A page that does not read its stream is dropped rather than buffered for without end; it reconnects and gets a fresh snapshot. */
  const push = (res: ServerResponse, data: string) => {
    if (res.writableLength > MAX_UNREAD_BYTES) {
      streams.delete(res);
      res.destroy();
    } else res.write(data);
  };
  model.onChange((snap) => {
    const data = frame(snap);
    for (const res of streams) push(res, data);
  });
  const heartbeat = setInterval(() => {
    for (const res of streams) push(res, ': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  async function detail(sessionId: string): Promise<SessionDetail> {
    const [status, log, cps] = await withTimeout(
      Promise.all([
        client.request(SessionStatusRequest, { sessionId }),
        client.request(LogReadRequest, { sessionId, limit: LOG_TAIL }),
        client.request(CheckpointListRequest, { sessionId }),
      ]),
      DAEMON_TIMEOUT_MS,
    );
    return {
      status: 'workflowId' in status ? status : null,
      log: log.events.reverse(),
      checkpoints: cps.checkpoints.slice(-CHECKPOINTS_SHOWN).reverse(),
    };
  }

  async function approve(body: ApproveBody): Promise<ApproveAnswer> {
    // Not queued for a daemon that may come back much later: the person approves again then.
    if (!model.connected) throw Object.assign(new Error('The daemon is not running right now, so nothing was approved; approve again once the page says live.'), { status: 503 });
    const result =
      body.kind === 'item'
        ? await withTimeout(client.request(ItemApproveRequest, { sessionId: body.sessionId, itemId: body.id, by: approver, ...(body.note ? { notes: body.note } : {}) }), DAEMON_TIMEOUT_MS)
        : await withTimeout(client.request(PhaseApproveRequest, { sessionId: body.sessionId, phaseId: body.id, by: approver }), DAEMON_TIMEOUT_MS);
    return { ok: true, message: result.message };
  }

  function failure(res: ServerResponse, err: unknown): void {
    if (err instanceof ResponseError) sendJson(res, 409, { ok: false, message: err.message });
    else {
      const status = (err as { status?: number }).status ?? 500;
      sendJson(res, status, { ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(security)) res.setHeader(k, v);
    // DNS rebinding: a page of another site that resolves its name to 127.0.0.1 sends its own Host.
    if (!allowedHosts().has(req.headers.host ?? '')) return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: unexpected Host header.\n');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed.\n', { allow: 'GET, HEAD, POST' });
    if (method === 'POST') {
      // Cross-site requests: a browser always sends Origin with a POST; anything but this origin is refused.
      if (!allowedOrigins().has(String(req.headers.origin ?? ''))) return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: cross-origin request.\n');
    }
    const given = url.searchParams.get('token');
    if (method === 'GET' && url.pathname === '/' && given !== null) {
      if (!sameSecret(given, token)) return send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized: wrong token; use the URL orch ui printed.\n');
      // The token leaves the address bar: it lives on in the cookie only.
      res.writeHead(303, { location: '/', 'set-cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`, 'content-length': 0 });
      return void res.end();
    }
    if (!sameSecret(cookieValue(req.headers.cookie, cookieName()), token)) {
      return send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized: open the URL orch ui printed (it carries the token).\n');
    }
    if (method === 'POST') {
      if (url.pathname !== '/api/approve') return send(res, 404, 'text/plain; charset=utf-8', 'Not found.\n');
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return sendJson(res, 415, { ok: false, message: 'send JSON' });
      try {
        const body = parseApprove(await readBody(req));
        if (typeof body === 'string') return sendJson(res, 400, { ok: false, message: body });
        return sendJson(res, 200, await approve(body));
      } catch (err) {
        return failure(res, err);
      }
    }
    const asset = ASSETS[url.pathname];
    if (asset) return send(res, 200, asset.type, assets.get(asset.file)!);
    if (url.pathname === '/api/state') return sendJson(res, 200, model.snapshot());
    const m = /^\/api\/session\/([^/]+)$/.exec(url.pathname);
    if (m) {
      if (!isSessionId(m[1])) return sendJson(res, 400, { ok: false, message: 'not a session id' });
      try {
        return sendJson(res, 200, await detail(m[1]));
      } catch (err) {
        return failure(res, err);
      }
    }
    if (url.pathname === '/events') {
      if (method !== 'GET') return send(res, 405, 'text/plain; charset=utf-8', 'The event stream is GET only.\n', { allow: 'GET' });
      if (streams.size >= MAX_SSE_CLIENTS) return send(res, 503, 'text/plain; charset=utf-8', `Too many open pages (at most ${MAX_SSE_CLIENTS}).\n`, { 'retry-after': '5' });
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
      res.write(`retry: 1000\n\n${frame(model.snapshot())}`);
      streams.add(res);
      req.socket.setKeepAlive(true);
      res.on('close', () => streams.delete(res));
      return;
    }
    return send(res, 404, 'text/plain; charset=utf-8', 'Not found.\n');
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) failure(res, err);
      else res.destroy();
    });
  });
  // SSE streams are long requests: no request timeout on them (the heartbeat keeps them alive).
  server.requestTimeout = 0;
  server.maxConnections = MAX_SOCKETS;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    client.close();
    throw err;
  }
  port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const res of streams) res.end();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        client.close();
      })),
  };
}
