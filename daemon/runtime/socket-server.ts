/**
 * The socket server: one vscode-jsonrpc MessageConnection per client socket. A peer that
 * vanishes (EPIPE, ECONNRESET) or sends garbage only loses its own connection.
 *
 * Memory stays bounded whatever clients send (see README, "Limits"):
 * - at most `maxConnections` at once; one more is told so (TooManyConnections) and closed;
 * - a connection must say `daemon/hello` within `helloTimeoutMs`; other requests before it are
 *   answered HelloRequired and not run;
 * - a frame must arrive whole within `frameTimeoutMs` of its first byte;
 * - all connections together may hold `maxBufferedBytes` of incomplete frames and unread replies:
 *   the connection that would pass it is closed;
 * - one connection may leave `maxUnreadReplyBytes` of replies unread before it is cut off.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  AbstractMessageWriter,
  createMessageConnection,
  ErrorCodes,
  Message,
  type MessageConnection,
  type MessageWriter,
} from 'vscode-jsonrpc/node.js';
import { OrchErrorCode, type OrchErrorName } from '../../protocol/errors.js';
import { GateWaitRequest } from '../../protocol/gates.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { createBoundedReader } from './bounded-reader.js';
import type { DaemonConfig } from './config.js';
import type { Logger } from './logger.js';

export interface ConnectionHooks {
  /** Registers every request handler on a new connection. */
  register(conn: MessageConnection, log: Logger): void;
  /** Called when the number of open connections changes. */
  onCountChange(count: number): void;
}

export type ConnectionLimits = Pick<
  DaemonConfig,
  'maxMessageBytes' | 'maxConnections' | 'maxBufferedBytes' | 'frameTimeoutMs' | 'helloTimeoutMs' | 'maxUnreadReplyBytes'
>;

export interface SocketServer {
  readonly server: Server;
  readonly connections: Set<MessageConnection>;
  /** Bytes held now for all connections: incomplete frames plus unread replies. */
  bufferedBytes(): number;
  /** Stops accepting new connections; open ones keep being served. */
  stopAccepting(): void;
  /** Ends every connection (flushing replies already written), then destroys stragglers. */
  closeConnections(): Promise<void>;
}

/** Below this, a connection's partial frame or unread replies never count as the one to cut off. */
const SMALL_BYTES = 64 * 1024;
/** A connection being closed with a last message gets this long to take it. */
const LAST_WORDS_MS = 1000;
/**
 * Requests are run in turns: at most MAX_RUNNING at once over all connections, at most
 * MAX_IN_FLIGHT of one connection, connections taking turns in order. A peer that pipelines
 * thousands of requests gets them answered in order, and a client that asks one question waits
 * behind at most one request of each other connection, not behind all of theirs. A connection with
 * more than PAUSE_AT requests waiting is not read from (its writes back up in the kernel).
 */
const MAX_IN_FLIGHT = 4;
const MAX_RUNNING = 64;
const PAUSE_AT = 8;

interface Turns {
  socket: Socket;
  waiting: (() => void)[];
  inFlight: number;
  queued: boolean;
}
/**
 * Requests that wait on events rather than work (gate/wait) run at once, outside the turns: a
 * client waiting for a person must not hold a turn that others need. At most MAX_WAITS of them per
 * connection.
 */
const WAITING_METHODS = new Set([GateWaitRequest.method]);
const MAX_WAITS = 16;

/** Methods a client whose hello was refused (another protocol version) may still call. */
const AFTER_MISMATCH = new Set(['daemon/hello', 'daemon/status', 'daemon/shutdown']);

/** One framed JSON-RPC message, serialized at once. */
function encode(msg: Message): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

function errorMessage(id: number | string | null, name: OrchErrorName, message: string, details: Record<string, string | number>): Message {
  return { jsonrpc: '2.0', id, error: { code: OrchErrorCode[name], message, data: { name, details } } } as Message;
}

function errorFrame(id: number | string | null, name: OrchErrorName, message: string, details: Record<string, string | number>): Buffer {
  return encode(errorMessage(id, name, message, details));
}

/**
 * vscode-jsonrpc's socket writer serializes a message only once the previous one was flushed, so
 * replies to a peer that never reads pile up unseen as objects. This one writes each message to the
 * socket at once (in order), so `socket.writableLength` is exactly what the peer left unread; its
 * promise still settles when the bytes are flushed (the live hub counts unwritten notifications).
 */
class SocketWriter extends AbstractMessageWriter implements MessageWriter {
  constructor(
    private readonly socket: Socket,
    private readonly beforeWrite: (msg: Message) => boolean,
  ) {
    super();
    socket.on('error', (err) => this.fireError(err));
    socket.on('close', () => this.fireClose());
  }

  write(msg: Message): Promise<void> {
    if (this.socket.destroyed || !this.beforeWrite(msg)) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => this.socket.write(encode(msg), (err) => (err ? reject(err) : resolve())));
  }

  end(): void {
    this.socket.end();
  }
}

export function createSocketServer(log: Logger, limits: ConnectionLimits, hooks: ConnectionHooks): SocketServer {
  const connections = new Set<MessageConnection>();
  const sockets = new Set<Socket>();
  /** Bytes of incomplete frames, per socket and in total. */
  const held = new Map<Socket, number>();
  let heldTotal = 0;
  let nextId = 1;

  const unreadTotal = () => {
    let sum = 0;
    for (const s of sockets) sum += s.writableLength;
    return sum;
  };

  const closing = new WeakSet<Socket>();
  /** Responses that answer no scheduled request (HelloRequired refusals). */
  const unscheduled = new WeakSet<Message>();
  let running = 0;
  const ready: Turns[] = [];
  let scheduled = false;

  function enqueue(t: Turns): void {
    if (t.queued || t.waiting.length === 0 || t.inFlight >= MAX_IN_FLIGHT) return;
    t.queued = true;
    ready.push(t);
  }

  function schedule(): void {
    scheduled = false;
    while (running < MAX_RUNNING && ready.length > 0) {
      const t = ready.shift()!;
      t.queued = false;
      if (t.socket.destroyed || t.waiting.length === 0 || t.inFlight >= MAX_IN_FLIGHT) continue;
      t.inFlight += 1;
      running += 1;
      t.waiting.shift()!();
      enqueue(t);
      if (t.waiting.length < PAUSE_AT && t.socket.isPaused() && !closing.has(t.socket)) t.socket.resume();
    }
  }

  function scheduleSoon(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(schedule);
  }

  /** Stops reading, sends `last` (if any), and destroys the socket once it is written (or soon). */
  function closeWith(socket: Socket, last?: Buffer): void {
    if (socket.destroyed) return;
    closing.add(socket);
    socket.pause();
    release(socket);
    if (!last || socket.writableEnded) return void socket.destroy();
    socket.end(last);
    setTimeout(() => socket.destroy(), LAST_WORDS_MS).unref();
  }

  function release(socket: Socket): void {
    heldTotal -= held.get(socket) ?? 0;
    held.delete(socket);
  }

  function refuse(socket: Socket): void {
    log.warn({ maxConnections: limits.maxConnections }, 'connection refused: too many connections');
    socket.on('error', () => undefined);
    closeWith(
      socket,
      errorFrame(
        null,
        'TooManyConnections',
        `The orch daemon already serves ${limits.maxConnections} ${limits.maxConnections === 1 ? 'connection' : 'connections'}, its limit (ORCH_MAX_CONNECTIONS); close idle clients or raise the limit.`,
        { limit: limits.maxConnections },
      ),
    );
  }

  const server = createServer((socket) => {
    if (sockets.size >= limits.maxConnections) return refuse(socket);
    const connLog = log.child({ conn: nextId++ });
    sockets.add(socket);
    held.set(socket, 0);
    socket.on('error', (err) => connLog.debug({ err }, 'socket error'));
    let hello: 'none' | 'mismatch' | 'done' = 'none';
    const turns: Turns = { socket, waiting: [], inFlight: 0, queued: false };
    /** Ids of requests admitted and not yet answered, and which of them wait outside the turns. */
    const openIds = new Set<number | string>();
    const waitIds = new Set<number | string>();
    let frameTimer: NodeJS.Timeout | undefined;
    const stopFrameTimer = () => {
      clearTimeout(frameTimer);
      frameTimer = undefined;
    };
    const helloTimer = setTimeout(() => {
      connLog.warn({ helloTimeoutMs: limits.helloTimeoutMs }, 'no daemon/hello in time; connection closed');
      closeWith(
        socket,
        errorFrame(null, 'HelloRequired', `No daemon/hello within ${limits.helloTimeoutMs} ms (ORCH_HELLO_TIMEOUT_MS); connection closed.`, {
          limit: limits.helloTimeoutMs,
        }),
      );
    }, limits.helloTimeoutMs);
    socket.on('close', () => {
      running -= turns.inFlight;
      turns.inFlight = 0;
      turns.waiting.length = 0;
      scheduleSoon();
      clearTimeout(helloTimer);
      stopFrameTimer();
      release(socket);
    });

    const writer = new SocketWriter(socket, (msg) => {
      if (Message.isResponse(msg) && !unscheduled.has(msg)) {
        if (msg.id !== null) openIds.delete(msg.id);
        if (msg.id !== null && waitIds.delete(msg.id)) {
          // A wait's answer: it never held a turn.
        } else if (turns.inFlight > 0) {
          turns.inFlight -= 1;
          running -= 1;
          enqueue(turns);
          scheduleSoon();
        }
      }
      // Checked before each message: what the peer left unread so far, on its own and in total.
      const unread = socket.writableLength;
      if (unread > limits.maxUnreadReplyBytes || (unread > SMALL_BYTES && heldTotal + unreadTotal() > limits.maxBufferedBytes)) {
        connLog.warn({ unread, maxUnreadReplyBytes: limits.maxUnreadReplyBytes }, 'peer does not read its replies; connection closed');
        closeWith(socket);
        return false;
      }
      return true;
    });
    const reader = createBoundedReader(socket, limits.maxMessageBytes, {
      onTooLarge: (bytes) => {
        release(socket);
        connLog.warn({ bytes, maxMessageBytes: limits.maxMessageBytes }, 'message over the size cap; connection closed');
      },
      onInvalidMessage: (message) => {
        connLog.warn('message is not JSON-RPC; answered InvalidRequest and closed the connection');
        const id = (message as { id?: unknown } | null)?.id;
        const reply = {
          jsonrpc: '2.0' as const,
          id: typeof id === 'string' || typeof id === 'number' ? id : null,
          error: { code: ErrorCodes.InvalidRequest, message: 'Not a JSON-RPC 2.0 request, notification or response.' },
        };
        closeWith(socket, encode(reply as Message));
      },
      onBuffered: (bytes, progressed) => {
        heldTotal += bytes - (held.get(socket) ?? 0);
        held.set(socket, bytes);
        if (bytes === 0) return stopFrameTimer();
        if (bytes > SMALL_BYTES && heldTotal > limits.maxBufferedBytes) {
          connLog.warn({ bytes, heldTotal, maxBufferedBytes: limits.maxBufferedBytes }, 'buffered bytes over the total cap; connection closed');
          return closeWith(socket);
        }
        if (frameTimer && !progressed) return;
        clearTimeout(frameTimer);
        frameTimer = setTimeout(() => {
          connLog.warn({ frameTimeoutMs: limits.frameTimeoutMs, bytes: held.get(socket) }, 'incomplete frame timed out; connection closed');
          closeWith(socket);
        }, limits.frameTimeoutMs);
      },
      admit: (message, deliver) => {
        if (!Message.isRequest(message)) return hello === 'done' || Message.isResponse(message);
        // Every request gets exactly one response (written through `writer`, which counts it down).
        const pass = (): boolean => {
          turns.waiting.push(deliver);
          if (turns.waiting.length >= PAUSE_AT) socket.pause();
          enqueue(turns);
          schedule();
          return false;
        };
        const refuse = (name: OrchErrorName, text: string, details: Record<string, string | number>): boolean => {
          const refusal = errorMessage(message.id, name, text, details);
          unscheduled.add(refusal);
          void writer.write(refusal).catch(() => undefined);
          return false;
        };
        if (hello === 'done') {
          // Every answer is matched to its request by id: an id still in use would be ambiguous.
          if (message.id !== null && openIds.has(message.id)) {
            return refuse('InvalidArgument', 'This request id is still in use by an unanswered request of this connection; use a new id.', {});
          }
          if (WAITING_METHODS.has(message.method)) {
            if (waitIds.size >= MAX_WAITS) {
              return refuse('ConnectionLimit', `This connection already has ${MAX_WAITS} waits pending, its limit; cancel one or open another connection.`, {
                limit: MAX_WAITS,
              });
            }
            if (message.id !== null) {
              openIds.add(message.id);
              waitIds.add(message.id);
            }
            return true;
          }
          if (message.id !== null) openIds.add(message.id);
          return pass();
        }
        if (message.method === 'daemon/hello') {
          // Decided on arrival (the handler checks the same), so requests pipelined after it pass.
          const version = (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
          hello = version === PROTOCOL_VERSION ? 'done' : 'mismatch';
          if (hello === 'done') clearTimeout(helloTimer);
          return pass();
        }
        if (hello === 'mismatch' && AFTER_MISMATCH.has(message.method)) return pass();
        const method = message.method.slice(0, 100);
        return refuse('HelloRequired', `Send daemon/hello first: this daemon answers ${method} only after the handshake.`, { method });
      },
    });
    const conn = createMessageConnection(reader, writer);
    connections.add(conn);
    hooks.onCountChange(connections.size);
    conn.onError(([err]) => {
      connLog.warn({ err: err.message }, 'malformed message; connection closed');
      socket.destroy();
    });
    conn.onClose(() => {
      connections.delete(conn);
      sockets.delete(socket);
      conn.dispose();
      connLog.debug('connection closed');
      hooks.onCountChange(connections.size);
    });
    hooks.register(conn, connLog);
    conn.listen();
    connLog.debug('connection opened');
  });
  server.on('error', (err) => log.error({ err }, 'server error'));

  return {
    server,
    connections,
    bufferedBytes: () => heldTotal + unreadTotal(),
    stopAccepting() {
      server.close();
    },
    async closeConnections() {
      // A reply is written a few ticks after its handler returns (vscode-jsonrpc queues writes);
      // give the last replies a moment before ending the sockets.
      await new Promise((r) => setTimeout(r, 20));
      for (const socket of sockets) socket.end();
      await new Promise((r) => setTimeout(r, 100));
      for (const socket of sockets) socket.destroy();
    },
  };
}
