/**
 * The client library for editor plugins and scripts: connect to a repository's daemon (starting
 * it if needed), call any request declared in `protocol/`, receive live notifications, and
 * reconnect by itself after a daemon restart (re-subscribing, so a plugin never has to).
 *
 *   import { OrchClient, SessionStatusRequest, SessionChangedNotification } from 'orch';
 *   const client = await OrchClient.connect({ cwd: workspaceFolder });
 *   client.onNotification(SessionChangedNotification, (e) => render(e.status));
 *   await client.subscribe({});
 *   const status = await client.request(SessionStatusRequest, {});
 */
import { EventEmitter } from 'node:events';
import type { MessageConnection, NotificationType, RequestType } from 'vscode-jsonrpc/node.js';
import { DaemonWillShutdownNotification, ResyncNotification, SubscribeRequest, type SubscribeParams, type SubscribeResult } from '../protocol/events.js';
import { findRepoRoot, repoPaths, type RepoPaths } from '../protocol/node/paths.js';
import type { DaemonConnection } from './connect.js';
import type { ClientInfo, ClientKind } from '../protocol/params.js';
import { describeClient } from './client-info.js';
import { ensureDaemon } from './ensure-daemon.js';

export * from '../protocol/index.js';

export interface OrchClientOptions {
  /** Directory to find the repository from (default: process.cwd()). */
  cwd?: string;
  /** Explicit repository root (default: found by walking up to .git or workflow.yaml). */
  root?: string;
  /** Environment passed to a daemon this client starts (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Start the daemon when none runs (default true). */
  autoStart?: boolean;
  /** Reconnect after the daemon goes away (default true). */
  reconnect?: boolean;
  /**
   * After the daemon announced it was stopping (daemon/willShutdown: `orch daemon stop`, a signal),
   * start a new one when reconnecting (default true). False: only reconnect to a daemon someone else
   * starts, so a deliberate stop sticks (`orch watch`). A daemon that crashed or vanished
   * unannounced (killed) is always restarted when `autoStart` is on.
   */
  restartAfterAnnouncedStop?: boolean;
  /**
   * Who this client is, said in its hello (shown by `orch who`, recorded with approvals). Default:
   * kind `library`, this process's pid and cwd, `agent` when the environment says an agent runs it.
   */
  client?: Partial<ClientInfo> & { kind?: ClientKind };
}

export interface OrchClientEvents {
  /** The connection was lost; the client is trying to reconnect. */
  disconnected: [];
  /** Connected again; `restarted` is true when a different daemon instance answered. */
  reconnected: [{ instanceId: string; restarted: boolean }];
  /** Reconnecting failed for good (reconnect disabled, or closed). */
  closed: [];
  /** The daemon announced it is stopping and no new one will be started by this client: waiting for one. */
  waiting: [{ reason: string }];
}

type AnyNotification = NotificationType<any>;

const RECONNECT_MAX_DELAY_MS = 1000;

export class OrchClient extends EventEmitter<OrchClientEvents> {
  private current: DaemonConnection;
  private closing = false;
  private reconnecting: Promise<void> | null = null;
  private readonly handlers: [AnyNotification, (params: any) => void][] = [];
  private readonly subscriptions: SubscribeParams[] = [];
  /** The reason of the last daemon/willShutdown of the current connection, if any. */
  private announcedStop: string | null = null;
  private readonly listening = new WeakMap<DaemonConnection, Set<string>>();

  private constructor(
    readonly paths: RepoPaths,
    private readonly opts: Required<Pick<OrchClientOptions, 'autoStart' | 'reconnect' | 'restartAfterAnnouncedStop'>> & {
      env: NodeJS.ProcessEnv;
      who: ClientInfo;
    },
    first: DaemonConnection,
  ) {
    super();
    this.current = first;
    this.attach(first);
  }

  /** Connects to the repository's daemon (starting it unless `autoStart: false`). */
  static async connect(options: OrchClientOptions = {}): Promise<OrchClient> {
    const paths = repoPaths(findRepoRoot(options.cwd ?? process.cwd(), options.root));
    const opts = {
      autoStart: options.autoStart ?? true,
      reconnect: options.reconnect ?? true,
      restartAfterAnnouncedStop: options.restartAfterAnnouncedStop ?? true,
      env: options.env ?? process.env,
      who: { ...describeClient(options.client?.kind ?? 'library', options.env ?? process.env, options.client?.sessionId), ...options.client },
    };
    const conn = await ensureDaemon(paths, opts.env, opts.who, opts.autoStart, () => undefined);
    if (!conn) throw new Error(`No orch daemon is running for ${paths.root}.`);
    return new OrchClient(paths, opts, conn);
  }

  /** The daemon instance currently connected. */
  get instanceId(): string {
    return this.current.hello.instanceId;
  }

  /** Sends a request; while reconnecting, waits for the new connection first. */
  async request<P, R, E>(type: RequestType<P, R, E>, params: P): Promise<R> {
    if (this.reconnecting) await this.reconnecting;
    return this.current.conn.sendRequest(type, params);
  }

  /** Registers a notification handler that survives reconnects. Returns a function that removes it. */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): () => void {
    const entry: [AnyNotification, (params: any) => void] = [type, handler];
    this.handlers.push(entry);
    this.listen(this.current, type.method);
    return () => {
      const at = this.handlers.indexOf(entry);
      if (at >= 0) this.handlers.splice(at, 1);
    };
  }

  /** Subscribes to live updates; the subscription is renewed after every reconnect. */
  async subscribe(params: SubscribeParams = {}): Promise<SubscribeResult> {
    const result = await this.request(SubscribeRequest, params);
    this.subscriptions.push(params);
    return result;
  }

  /** Closes the connection for good. */
  close(): void {
    this.closing = true;
    this.current.close();
    this.emit('closed');
  }

  /**
   * One listener per method and connection, calling every handler registered for it (vscode-jsonrpc
   * keeps only the last handler given for a method). daemon/willShutdown is always listened to, so
   * the client knows when a stop was announced.
   */
  private listen(dc: DaemonConnection, method: string): void {
    let methods = this.listening.get(dc);
    if (!methods) this.listening.set(dc, (methods = new Set()));
    if (methods.has(method)) return;
    methods.add(method);
    dc.conn.onNotification(method, (params: any) => {
      if (method === DaemonWillShutdownNotification.method && dc === this.current) this.announcedStop = String(params?.reason ?? 'stopping');
      for (const [type, handler] of [...this.handlers]) if (type.method === method) handler(params);
    });
  }

  private attach(dc: DaemonConnection): void {
    this.announcedStop = null;
    this.listen(dc, DaemonWillShutdownNotification.method);
    for (const [type] of this.handlers) this.listen(dc, type.method);
    dc.conn.onClose(() => {
      if (this.closing || dc !== this.current) return;
      if (!this.opts.reconnect) {
        this.emit('closed');
        return;
      }
      this.emit('disconnected');
      this.reconnecting = this.reconnectLoop().finally(() => (this.reconnecting = null));
    });
  }

  private async reconnectLoop(): Promise<void> {
    const previous = this.current.hello.instanceId;
    // A daemon that crashed announces it too ("crashed (…)"): that is no one's wish, so restart it.
    const deliberate = this.announcedStop !== null && !this.announcedStop.startsWith('crashed');
    const start = this.opts.autoStart && (!deliberate || this.opts.restartAfterAnnouncedStop);
    if (!start && deliberate) this.emit('waiting', { reason: this.announcedStop! });
    let delay = 20;
    while (!this.closing) {
      try {
        const dc = await ensureDaemon(this.paths, this.opts.env, this.opts.who, start, () => undefined);
        if (dc) {
          this.current = dc;
          this.attach(dc);
          for (const params of this.subscriptions) await dc.conn.sendRequest(SubscribeRequest, params);
          const restarted = dc.hello.instanceId !== previous;
          this.emit('reconnected', { instanceId: dc.hello.instanceId, restarted });
          // Anything may have happened while disconnected: tell subscribers to re-read.
          for (const [type, handler] of this.handlers) {
            if (type.method === ResyncNotification.method) handler({ subscriptionId: '', seq: 0, at: new Date().toISOString(), reason: 'reconnected' });
          }
          return;
        }
      } catch {
        // daemon starting or gone: retry
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
    }
  }

  /** The raw connection, for advanced use (e.g. cancellation tokens). */
  get connection(): MessageConnection {
    return this.current.conn;
  }
}
