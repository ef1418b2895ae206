/**
 * The socket server: one vscode-jsonrpc MessageConnection per client socket. A peer that
 * vanishes (EPIPE, ECONNRESET) or sends garbage only loses its own connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createMessageConnection, ErrorCodes, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { createBoundedReader } from './bounded-reader.js';
import type { Logger } from './logger.js';

export interface ConnectionHooks {
  /** Registers every request handler on a new connection. */
  register(conn: MessageConnection, log: Logger): void;
  /** Called when the number of open connections changes. */
  onCountChange(count: number): void;
}

export interface SocketServer {
  readonly server: Server;
  readonly connections: Set<MessageConnection>;
  /** Stops accepting new connections; open ones keep being served. */
  stopAccepting(): void;
  /** Ends every connection (flushing replies already written), then destroys stragglers. */
  closeConnections(): Promise<void>;
}

export function createSocketServer(log: Logger, maxMessageBytes: number, hooks: ConnectionHooks): SocketServer {
  const connections = new Set<MessageConnection>();
  const sockets = new Set<Socket>();
  let nextId = 1;

  const server = createServer((socket) => {
    const connLog = log.child({ conn: nextId++ });
    sockets.add(socket);
    socket.on('error', (err) => connLog.debug({ err }, 'socket error'));
    const writer = new SocketMessageWriter(socket);
    const reader = createBoundedReader(socket, maxMessageBytes, {
      onTooLarge: (bytes) => connLog.warn({ bytes, maxMessageBytes }, 'message over the size cap; connection closed'),
      onInvalidMessage: (message) => {
        connLog.warn('message is not JSON-RPC; answered InvalidRequest and closed the connection');
        const id = (message as { id?: unknown } | null)?.id;
        const reply = {
          jsonrpc: '2.0' as const,
          id: typeof id === 'string' || typeof id === 'number' ? id : null,
          error: { code: ErrorCodes.InvalidRequest, message: 'Not a JSON-RPC 2.0 request, notification or response.' },
        };
        void writer.write(reply).catch(() => undefined).finally(() => socket.end());
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
