/** A connection without the handshake: only to tell an incompatible daemon to stop. */
import { connect as netConnect } from 'node:net';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';

export async function connectRaw(socketPath: string): Promise<{ conn: MessageConnection; close(): void }> {
  const socket = netConnect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  conn.onClose(() => conn.dispose());
  conn.listen();
  return {
    conn,
    close() {
      conn.dispose();
      socket.destroy();
    },
  };
}
