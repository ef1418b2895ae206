/**
 * Connects to the repo's daemon through the socket named in `.orchestrator/daemon.json` (never a
 * derived path) and says hello. vscode-jsonrpc only fires onClose when the daemon dies; pending
 * requests are rejected only by dispose(), so onClose calls it: a killed daemon gives an error,
 * never a hang. The same handshake runs over the in-memory streams of no-daemon mode.
 */
import { readFileNoFollowSync } from '../protocol/node/safe-fs.js';
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import {
  createMessageConnection,
  ErrorCodes,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type Message,
  type MessageConnection,
  type MessageReader,
  type MessageWriter,
  type RequestType,
} from 'vscode-jsonrpc/node.js';
import { asRegistration, DaemonHelloRequest, type DaemonHelloResult, type DaemonRegistration } from '../protocol/daemon.js';
import { OrchErrorCode } from '../protocol/errors.js';
import type { ClientInfo } from '../protocol/params.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';

export interface DaemonConnection {
  conn: MessageConnection;
  hello: DaemonHelloResult;
  /** The socket path, or `in-process` when the command runs without a daemon. */
  socketPath: string;
  close(): void;
}

/** The registration's shape is declared once, in protocol/daemon.ts. */
export type RegistrationInfo = DaemonRegistration;

export function readRegistrationFile(daemonJson: string): RegistrationInfo | null {
  try {
    // Never through a link: a planted daemon.json could name any socket.
    return asRegistration(JSON.parse(readFileNoFollowSync(daemonJson)));
  } catch {
    return null;
  }
}

function openSocket(socketPath: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`timed out connecting to ${socketPath}`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Says hello on `conn`. A daemon that answers with another protocol version (an older daemon that
 * does not check the version itself) is treated exactly like one that refuses with ProtocolMismatch.
 */
async function handshake(conn: RequestConnection, who: ClientInfo): Promise<DaemonHelloResult> {
  const hello = await conn.sendRequest(DaemonHelloRequest, { protocolVersion: PROTOCOL_VERSION, clientVersion: ORCH_VERSION, client: who });
  if (hello.protocolVersion !== PROTOCOL_VERSION) {
    throw new ResponseError(
      OrchErrorCode.ProtocolMismatch,
      `The daemon (pid ${hello.pid}, orch ${hello.daemonVersion}) speaks protocol ${hello.protocolVersion}; this orch (${ORCH_VERSION}) speaks ${PROTOCOL_VERSION}.`,
      { name: 'ProtocolMismatch', details: { daemonProtocol: hello.protocolVersion, daemonVersion: hello.daemonVersion, pid: hello.pid } },
    );
  }
  return hello;
}

async function finish(
  conn: MessageConnection,
  who: ClientInfo,
  socketPath: string,
  close: () => void,
  refusal: () => ResponseError<unknown> | null = () => null,
): Promise<DaemonConnection> {
  conn.onClose(() => conn.dispose());
  conn.onError(() => undefined);
  conn.listen();
  try {
    return { conn, hello: await handshake(conn, who), socketPath, close };
  } catch (err) {
    close();
    // A daemon that turned the connection away (too many connections) said why before closing.
    throw refusal() ?? err;
  }
}

/** Codes a daemon sends, with no request id, just before closing a connection it refuses. */
const REFUSALS: number[] = [OrchErrorCode.TooManyConnections, OrchErrorCode.HelloRequired, OrchErrorCode.ConnectionLimit];

/** True for an error saying the daemon turned this connection away (it runs, but will not serve it). */
export function isRefusal(err: unknown): err is ResponseError<unknown> {
  return err instanceof ResponseError && REFUSALS.includes(err.code);
}

/** A reader that also keeps the error of an id-less response (the daemon's last word before closing). */
function refusalReader(socket: Socket): { reader: SocketMessageReader; refusal: () => ResponseError<unknown> | null } {
  const reader = new SocketMessageReader(socket);
  let refusal: ResponseError<unknown> | null = null;
  const listen = reader.listen.bind(reader);
  reader.listen = (callback) =>
    listen((message) => {
      const m = message as { id?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
      if (m.id === null && typeof m.error?.code === 'number' && REFUSALS.includes(m.error.code)) {
        refusal = new ResponseError(m.error.code, String(m.error.message), m.error.data);
      }
      callback(message);
    });
  return { reader, refusal: () => refusal };
}

/**
 * A writer whose failures close the socket instead of rejecting. vscode-jsonrpc 8.2.1 rethrows a
 * failed request write inside an async Promise executor (`sendRequest`), which becomes an
 * unhandled rejection that kills the process, e.g. on EPIPE when the daemon was killed between
 * connect and request. Closing instead lets onClose → dispose() reject the pending request with a
 * normal "connection lost" error (exit 3).
 */
export function closingWriter(socket: Socket): MessageWriter {
  const inner = new SocketMessageWriter(socket);
  return {
    onError: inner.onError,
    onClose: inner.onClose,
    end: () => inner.end(),
    dispose: () => inner.dispose(),
    write: (msg: Message) => inner.write(msg).catch(() => void socket.destroy()),
  };
}

/** Opens a JSON-RPC connection on `socketPath` and says hello as `who`. Throws on any failure. */
export async function connectSocket(socketPath: string, who: ClientInfo, timeoutMs = 2000): Promise<DaemonConnection> {
  const socket = await openSocket(socketPath, timeoutMs);
  socket.on('error', () => undefined);
  const { reader, refusal } = refusalReader(socket);
  const conn = createMessageConnection(reader, closingWriter(socket));
  return finish(
    conn,
    who,
    socketPath,
    () => {
      conn.dispose();
      socket.destroy();
    },
    refusal,
  );
}

/**
 * What a command that only asks questions needs of a connection (`orch status`): requests and
 * their answers, nothing the daemon sends unasked, no cancellation.
 */
export interface RequestConnection {
  sendRequest<P, R, E>(type: RequestType<P, R, E>, params: P): Promise<R>;
}

/**
 * A RequestConnection over the library's own framing (SocketMessageReader, the closing
 * SocketMessageWriter), with answers matched to requests by id here. vscode-jsonrpc's
 * createMessageConnection is the largest part of what a warm `orch status` compiles (about a third
 * of the client's code cache) and queues every message through setImmediate; a command that only
 * asks does without it (issue 18). As with a MessageConnection, a connection that closes rejects
 * what is pending with a ResponseError (PendingResponseRejected: "the daemon stopped answering").
 */
function requestConnection(reader: MessageReader, writer: MessageWriter): RequestConnection & { listen(): void; dispose(): void } {
  let nextId = 0;
  let disposed = false;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: unknown) => void }>();
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    const gone = new ResponseError(ErrorCodes.PendingResponseRejected, 'Pending response rejected since connection got disposed');
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
    writer.dispose();
    reader.dispose();
  };
  return {
    listen() {
      reader.onClose(dispose);
      reader.onError(() => undefined);
      reader.listen((message) => {
        const m = message as { id?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
        const p = typeof m.id === 'number' ? pending.get(m.id) : undefined;
        if (p === undefined) return; // a notification, or an answer to no request of ours
        pending.delete(m.id as number);
        if (m.error) p.reject(new ResponseError(m.error.code, m.error.message, m.error.data));
        else p.resolve(m.result ?? null);
      });
    },
    sendRequest<P, R, E>(type: RequestType<P, R, E>, params: P): Promise<R> {
      if (disposed) return Promise.reject(new ResponseError(ErrorCodes.PendingResponseRejected, 'Connection is disposed.'));
      const id = nextId++;
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
        void writer.write({ jsonrpc: '2.0', id, method: type.method, params: params ?? undefined } as Message);
      });
    },
    dispose,
  };
}

/**
 * Like connectExisting (ensure-daemon.ts) for a command that only asks (see RequestConnection):
 * null, after closing, when no daemon is registered, none answers, or it does not take the connection (refused, another
 * protocol version, …), so the caller takes the full path, which says why or starts a daemon.
 */
export async function connectForRequests(
  daemonJson: string,
  who: ClientInfo,
): Promise<{ conn: RequestConnection; close(): void } | null> {
  const reg = readRegistrationFile(daemonJson);
  if (!reg) return null;
  let socket: Socket;
  try {
    socket = await openSocket(reg.socketPath, 2000);
  } catch {
    return null;
  }
  socket.on('error', () => undefined);
  const conn = requestConnection(new SocketMessageReader(socket), closingWriter(socket));
  const close = () => {
    conn.dispose();
    socket.destroy();
  };
  conn.listen();
  try {
    await handshake(conn, who);
    return { conn, close };
  } catch {
    close();
    return null;
  }
}

/** The same over a pair of streams (no-daemon mode); `release` runs after the connection is disposed. */
export async function connectStreams(input: Readable, output: Writable, who: ClientInfo, release: () => void): Promise<DaemonConnection> {
  const conn = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  let closed = false;
  return finish(conn, who, 'in-process', () => {
    if (closed) return;
    closed = true;
    conn.dispose();
    release();
  });
}
