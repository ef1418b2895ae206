/**
 * A raw JSON-RPC peer for wire tests: it writes exactly the bytes a test gives it (well-formed or
 * not) over the daemon's real socket and parses what comes back, byte-counted as the protocol is.
 */
import { connect, type Socket } from 'node:net';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { waitFor } from './wait-for.js';

/** `Content-Length` framing of `body` (counted in bytes). */
export function frame(body: string | Buffer): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'ascii'), bytes]);
}

/** A framed JSON-RPC request. */
export function request(id: number | string, method: string, params?: unknown): Buffer {
  return frame(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
}

export class RawPeer {
  private buffer = Buffer.alloc(0);
  readonly messages: any[] = [];
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.parse();
    });
    socket.on('close', () => (this.isClosed = true));
    socket.on('error', () => undefined);
  }

  static connect(socketPath: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      socket.once('connect', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const match = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString('ascii'));
      if (!match) throw new Error(`daemon sent a frame without Content-Length: ${this.buffer.toString()}`);
      const length = Number(match[1]);
      if (this.buffer.length < end + 4 + length) return;
      this.messages.push(JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString('utf8')));
      this.buffer = this.buffer.subarray(end + 4 + length);
    }
  }

  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** Waits for the reply to request `id`. */
  reply(id: number | string, timeoutMs = 30_000): Promise<any> {
    return waitFor(() => this.messages.find((m) => m.id === id), `the reply to request ${id}`, timeoutMs);
  }

  /** Says daemon/hello (as request `id`), which the daemon requires before anything else. */
  async hello(id: number | string = 'hello'): Promise<void> {
    const reply = await this.call(id, 'daemon/hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: 'wire test' });
    if (!reply.result) throw new Error(`daemon/hello was refused: ${JSON.stringify(reply)}`);
  }

  /** Sends a request and waits for its reply. */
  async call(id: number | string, method: string, params?: unknown): Promise<any> {
    await this.write(request(id, method, params));
    return this.reply(id);
  }

  /** Waits until the daemon has closed this connection. */
  async closedByDaemon(timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.isClosed, 'the daemon to close the connection', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
