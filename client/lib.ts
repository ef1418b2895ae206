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
import { ResyncNotification, SubscribeRequest, type SubscribeParams, type SubscribeResult } from '../protocol/events.js';
import { findRepoRoot, repoPaths, type RepoPaths } from '../protocol/node/paths.js';
import type { DaemonConnection } from './connect.js';
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
}

export interface OrchClientEvents {
  /** The connection was lost; the client is trying to reconnect. */
  disconnected: [];
  /** Connected again; `restarted` is true when a different daemon instance answered. */
  reconnected: [{ instanceId: string; restarted: boolean }];
  /** Reconnecting failed for good (reconnect disabled, or closed). */
  closed: [];
}

type AnyNotification = NotificationType<any>;

const RECONNECT_MAX_DELAY_MS = 1000;

export class OrchClient extends EventEmitter<OrchClientEvents> {
  private current: DaemonConnection;
  private closing = false;
  private reconnecting: Promise<void> | null = null;
  private readonly handlers: [AnyNotification, (params: any) => void][] = [];
  private readonly subscriptions: SubscribeParams[] = [];

  private constructor(
    readonly paths: RepoPaths,
    private readonly opts: Required<Pick<OrchClientOptions, 'autoStart' | 'reconnect'>> & { env: NodeJS.ProcessEnv },
    first: DaemonConnection,
  ) {
    super();
    this.current = first;
    this.attach(first);
  }

  /** Connects to the repository's daemon (starting it unless `autoStart: false`). */
  static async connect(options: OrchClientOptions = {}): Promise<OrchClient> {
    const paths = repoPaths(findRepoRoot(options.cwd ?? process.cwd(), options.root));
    const opts = { autoStart: options.autoStart ?? true, reconnect: options.reconnect ?? true, env: options.env ?? process.env };
    const conn = await ensureDaemon(paths, opts.env, opts.autoStart, () => undefined);
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
    const disposable = this.current.conn.onNotification(type, handler);
    return () => {
      this.handlers.splice(this.handlers.indexOf(entry), 1);
      disposable.dispose();
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

  private attach(dc: DaemonConnection): void {
    for (const [type, handler] of this.handlers) dc.conn.onNotification(type, handler);
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
    let delay = 20;
    while (!this.closing) {
      try {
        const dc = await ensureDaemon(this.paths, this.opts.env, this.opts.autoStart, () => undefined);
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
