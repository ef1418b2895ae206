/**
 * Connects to the repo's daemon through the socket named in `.orchestrator/daemon.json` (never a
 * derived path) and says hello. vscode-jsonrpc only fires onClose when the daemon dies; pending
 * requests are rejected only by dispose(), so onClose calls it: a killed daemon gives an error,
 * never a hang.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { DaemonHelloRequest, type DaemonHelloResult } from '../protocol/daemon.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';

export interface DaemonConnection {
  conn: MessageConnection;
  hello: DaemonHelloResult;
  socketPath: string;
  close(): void;
}

export interface RegistrationInfo {
  pid: number;
  socketPath: string;
  instanceId: string;
  version: string;
  protocolVersion: number;
}

export function readRegistrationFile(daemonJson: string): RegistrationInfo | null {
  try {
    const reg = JSON.parse(readFileSync(daemonJson, 'utf8')) as RegistrationInfo;
    return typeof reg.socketPath === 'string' ? reg : null;
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

/** Opens a JSON-RPC connection on `socketPath` and performs the handshake. Throws on any failure. */
export async function connectSocket(socketPath: string, timeoutMs = 2000): Promise<DaemonConnection> {
  const socket = await openSocket(socketPath, timeoutMs);
  socket.on('error', () => undefined);
  const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  conn.onClose(() => conn.dispose());
  conn.onError(() => undefined);
  conn.listen();
  const close = () => {
    conn.dispose();
    socket.destroy();
  };
  try {
    const hello = await conn.sendRequest(DaemonHelloRequest, { protocolVersion: PROTOCOL_VERSION, clientVersion: ORCH_VERSION });
    return { conn, hello, socketPath, close };
  } catch (err) {
    close();
    throw err;
  }
}
