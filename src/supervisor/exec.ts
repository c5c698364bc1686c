// Exec into a running sandbox. The helper's exec server (native/src/execsrv.c, PROTOCOL.md
// "Exec socket") runs inside the sandbox with exactly the workload's restrictions and forks the
// new process there; this file speaks its byte protocol:
//   request:  "NCX1" u32be(len) body; body = NUL-terminated strings: tty(0|1), cols, rows, argc,
//             argv..., then environment entries K=V...
//   frames:   u8 type, u32be len, payload.
//     to the sandbox:   'i' stdin bytes, 'e' stdin closed, 'w' u16be cols u16be rows, 'k' u8 signal
//     from the sandbox: 'p' u32be pid (inside), 'o' stdout, 'r' stderr,
//                       'x' i32be code (-1: signaled) i32be signal, 'f' failure text
// The API (POST /v1/sandboxes/<name>/exec with Upgrade: nemoclaw-exec) builds the request from
// JSON and then relays frames both ways unchanged.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface ExecRequest {
  argv: string[];
  tty: boolean;
  cols?: number;
  rows?: number;
  env?: Record<string, string>;
}

export const MAX_REQUEST = 64 * 1024;

export function encodeRequest(req: ExecRequest): Buffer {
  const fields = [req.tty ? '1' : '0', String(req.cols ?? 80), String(req.rows ?? 24), String(req.argv.length), ...req.argv, ...Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`)];
  for (const f of fields) if (f.includes('\0')) throw new Error('exec: arguments and environment may not contain NUL');
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
  if (body.length > MAX_REQUEST) throw new Error('exec: request too large');
  const head = Buffer.alloc(8);
  head.write('NCX1', 0, 'latin1');
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

export function frame(type: string, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
}

export function resizeFrame(cols: number, rows: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt16BE(Math.min(65535, Math.max(1, cols)), 0);
  p.writeUInt16BE(Math.min(65535, Math.max(1, rows)), 2);
  return frame('w', p);
}

export interface Frame {
  type: string;
  payload: Buffer;
}

/** Splits a byte stream into frames (bounded: a frame over 1 MiB is a protocol error). */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private readonly onFrame: (f: Frame) => void;

  constructor(onFrame: (f: Frame) => void) {
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (len > 1 << 20) throw new Error('exec: oversized frame');
      if (this.buf.length < 5 + len) break;
      const type = String.fromCharCode(this.buf[0] as number);
      const payload = this.buf.subarray(5, 5 + len);
      this.buf = this.buf.subarray(5 + len);
      this.onFrame({ type, payload });
    }
  }
}

export interface ExitFrame {
  code: number | null;
  signal: number | null;
}

export function parseExit(p: Buffer): ExitFrame {
  const code = p.readInt32BE(0);
  const signal = p.readInt32BE(4);
  return { code: code < 0 ? null : code, signal: signal > 0 ? signal : null };
}

/** Opens the sandbox's exec socket and sends the request; frames follow on the socket. */
export function openExec(socketPath: string, req: ExecRequest): Promise<Socket> {
  const head = encodeRequest(req);
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.off('error', reject);
      s.write(head);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Relays an upgraded API connection to the exec socket; reports the start and the exit. */
export async function bridgeExec(client: Socket, head: Buffer, socketPath: string, req: ExecRequest, on: { started(pid: number): void; exited(e: ExitFrame | null): void }): Promise<void> {
  const upstream = await openExec(socketPath, req);
  let exit: ExitFrame | null = null;
  const watch = new FrameParser((f) => {
    if (f.type === 'p' && f.payload.length >= 4) on.started(f.payload.readUInt32BE(0));
    if (f.type === 'x' && f.payload.length >= 8) exit = parseExit(f.payload);
  });
  // Explicit forwarding with half-close: the exit frame is the last thing the server writes,
  // and it must reach the client before the client's side is ended.
  upstream.on('data', (c: Buffer) => {
    try {
      watch.push(c);
    } catch {
      upstream.destroy();
      return;
    }
    if (!client.write(c)) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  });
  upstream.on('end', () => client.end());
  client.on('data', (c: Buffer) => {
    if (!upstream.write(c)) {
      client.pause();
      upstream.once('drain', () => client.resume());
    }
  });
  client.on('end', () => upstream.end());
  if (head.length > 0) upstream.write(head);
  await new Promise<void>((done) => {
    let upClosed = false;
    let reported = false;
    const report = (): void => {
      if (reported) return;
      reported = true;
      on.exited(exit);
      done();
    };
    upstream.on('close', () => {
      upClosed = true;
      client.end();
      report();
    });
    client.on('close', () => {
      // The client left first: its process group is killed by the server when we hang up.
      if (!upClosed) upstream.destroy();
      report();
    });
    upstream.on('error', () => {});
    client.on('error', () => {});
  });
}
