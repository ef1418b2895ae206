/** A connection without the handshake: only to tell an incompatible daemon to stop. */
import { connect as netConnect } from 'node:net';
import { createMessageConnection, SocketMessageReader, type MessageConnection } from 'vscode-jsonrpc/node.js';
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
  return {
    conn,
    close() {
      conn.dispose();
      socket.destroy();
    },
  };
}
