/**
 * vscode-jsonrpc's reader buffers whatever a peer sends: a header that never ends or a huge
 * Content-Length would grow memory without bound, and the library has no cap. This wraps the
 * reader's data hook (its `listen` calls `this.onData` on every chunk) to cap both; a peer over the
 * cap has its connection closed, and every other client is unaffected.
 */
import { SocketMessageReader } from 'vscode-jsonrpc/node.js';
import type { Socket } from 'node:net';

/** Headers are a few dozen bytes; this much without a complete header is garbage. */
const MAX_HEADER_BYTES = 8 * 1024;

interface ReaderInternals {
  buffer: { numberOfBytes: number };
  nextMessageLength: number;
  onData(data: Buffer): void;
}

export function createBoundedReader(socket: Socket, maxBytes: number, onReject: (bytes: number) => void): SocketMessageReader {
  const reader = new SocketMessageReader(socket, 'utf-8');
  const internals = reader as unknown as ReaderInternals;
  const original = internals.onData.bind(reader);
  const reject = (bytes: number) => {
    onReject(bytes);
    socket.destroy();
  };
  internals.onData = (data: Buffer) => {
    if (socket.destroyed) return;
    original(data);
    if (internals.nextMessageLength > maxBytes) return reject(internals.nextMessageLength);
    if (internals.nextMessageLength === -1 && internals.buffer.numberOfBytes > MAX_HEADER_BYTES) {
      return reject(internals.buffer.numberOfBytes);
    }
  };
  return reader;
}
