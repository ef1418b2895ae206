/**
 * A connection whose handshake may fail: only to tell an incompatible daemon to stop. It still
 * says hello first (a daemon answers nothing before it, and after a refused hello it answers only
 * daemon/status and daemon/shutdown); a ProtocolMismatch refusal is expected and ignored.
 */
import { connect as netConnect } from 'node:net';
import { createMessageConnection, SocketMessageReader, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { DaemonHelloRequest } from '../protocol/daemon.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import { closingWriter } from './connect.js';

export async function connectRaw(socketPath: string, timeoutMs = 1000): Promise<{ conn: MessageConnection; close(): void }> {
  const socket = netConnect(socketPath);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out connecting to ${socketPath}`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const conn = createMessageConnection(new SocketMessageReader(socket), closingWriter(socket));
  conn.onClose(() => conn.dispose());
  conn.onError(() => undefined);
  conn.listen();
  await Promise.race([
    conn.sendRequest(DaemonHelloRequest, { protocolVersion: PROTOCOL_VERSION, clientVersion: ORCH_VERSION }).catch(() => undefined),
    new Promise((r) => setTimeout(r, timeoutMs)),
  ]);
  return {
    conn,
    close() {
      conn.dispose();
      socket.destroy();
    },
  };
}
