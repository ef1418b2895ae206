/**
 * vscode-jsonrpc's reader buffers whatever a peer sends: a header that never ends or a huge
 * Content-Length would grow memory without bound, and the library has no cap. This wraps the
 * reader's data hook (its `listen` calls `this.onData` on every chunk) to cap both; a peer over the
 * cap has its connection closed, and every other client is unaffected. It also catches bodies that
 * are JSON but not JSON-RPC (`[]`, `42`, a request with an object id), which the library would
 * drop silently, leaving the peer waiting forever.
 */
import { Message, SocketMessageReader, type DataCallback, type Disposable } from 'vscode-jsonrpc/node.js';
import type { Socket } from 'node:net';

/** Headers are a few dozen bytes; this much without a complete header is garbage. */
const MAX_HEADER_BYTES = 8 * 1024;

interface ReaderInternals {
  buffer: { numberOfBytes: number };
  nextMessageLength: number;
  onData(data: Buffer): void;
}

export interface BoundedReaderHooks {
  /** A message over the size cap (or a header over its cap) arrived; the socket is being destroyed. */
  onTooLarge(bytes: number): void;
  /** A parsed body that is neither a request, a notification nor a response. */
  onInvalidMessage(message: unknown): void;
  /**
   * After each chunk: the bytes the reader now holds (an incomplete frame), and whether a header or
   * a body was completed by this chunk (progress, as opposed to a frame still trickling in).
   */
  onBuffered?(heldBytes: number, progressed: boolean): void;
  /**
   * Sees each valid message before it is dispatched; false holds it back: it was answered here, or
   * the hook calls `deliver` later.
   */
  admit?(message: Message, deliver: () => void): boolean;
}

export function isJsonRpcMessage(message: unknown): boolean {
  const m = message as Message;
  return (
    m !== null && typeof m === 'object' && !Array.isArray(m) && (Message.isRequest(m) || Message.isNotification(m) || Message.isResponse(m))
  );
}

export function createBoundedReader(socket: Socket, maxBytes: number, hooks: BoundedReaderHooks): SocketMessageReader {
  const reader = new SocketMessageReader(socket, 'utf-8');
  const internals = reader as unknown as ReaderInternals;
  const original = internals.onData.bind(reader);
  const reject = (bytes: number) => {
    hooks.onTooLarge(bytes);
    socket.destroy();
  };
  internals.onData = (data: Buffer) => {
    if (socket.destroyed) return;
    const before = internals.buffer.numberOfBytes + data.length;
    const expected = internals.nextMessageLength;
    original(data);
    // A negative Content-Length would make the library read "backwards"; treat it as oversized.
    if (internals.nextMessageLength > maxBytes || internals.nextMessageLength < -1) return reject(internals.nextMessageLength);
    if (internals.nextMessageLength === -1 && internals.buffer.numberOfBytes > MAX_HEADER_BYTES) {
      return reject(internals.buffer.numberOfBytes);
    }
    const held = internals.buffer.numberOfBytes;
    // A frame is "held" from its first byte until its body is complete (a header alone counts).
    const partial = held > 0 || internals.nextMessageLength !== -1;
    hooks.onBuffered?.(partial ? Math.max(held, 1) : 0, held < before || internals.nextMessageLength !== expected);
  };
  const listen = reader.listen.bind(reader);
  reader.listen = (callback: DataCallback): Disposable =>
    listen((message) => {
      if (!isJsonRpcMessage(message)) hooks.onInvalidMessage(message);
      else if (hooks.admit?.(message, () => callback(message)) ?? true) callback(message);
    });
  return reader;
}
