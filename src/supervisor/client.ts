// Client of the control API (the CLI, the TUI, scripts): JSON calls, NDJSON streams and exec.
import type { Socket } from 'node:net';
import type { ExecRequest } from './exec.ts';
import { homePaths } from '../state/index.ts';

// The exec frames' codec, for clients of an exec session (`nemoclaw NAME exec|connect`).
export { FrameParser, frame, parseExit, resizeFrame } from './exec.ts';
export type { ExitFrame, Frame } from './exec.ts';

// JSON calls and NDJSON streams speak HTTP/1.1 over node:net, not node:http: http's client, agent,
// parser and server modules (~15 of Node's internal modules) cost a CLI verb ~4 ms of the ~13 ms
// that `nemoclaw list` may take beyond `node -e 0` (issue 23). The peer is the supervisor, which
// answers with a Content-Length (sendJson) or chunked (NDJSON streams); an answer that is not
// well-formed HTTP fails closed, as bad_response. exec's Upgrade too: a 101 hands the socket over
// to the exec frames (exec.ts), anything else is a refusal with a JSON body.

/** Node's own rule for a request path (http's ERR_UNESCAPED_CHARACTERS): no controls, no spaces. */
const BAD_PATH = /[^\u0021-\u00ff]/;
/** A response head larger than this is not our supervisor's: fail closed. */
const MAX_HEAD = 64 * 1024;
/** What one read from the supervisor's socket takes at most. */
const READ_BUFFER = 64 * 1024;

/** A response as far as it has been read: the status, then the body through onBody. */
export interface ResponseHead {
  status: number;
  headers: Map<string, string>;
}

/**
 * The status line and headers of an HTTP/1.x response (the text before the blank line), or null
 * when it is not one. Header names lower-cased; a repeated header's values joined with ", ".
 */
export function parseHead(text: string): ResponseHead | null {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (m === null) return null;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), headers };
}

/** How the body of a response ends (RFC 9112 section 6.3, for the answers a request of ours can get). */
export type Framing = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export function framingOf(head: ResponseHead): Framing | null {
  if (head.status < 200) return null; // no 1xx: we send no Expect nor Upgrade here
  if (head.status === 204 || head.status === 304) return { kind: 'length', length: 0 };
  const te = head.headers.get('transfer-encoding');
  if (te !== undefined) return te.toLowerCase() === 'chunked' ? { kind: 'chunked' } : null;
  const cl = head.headers.get('content-length');
  if (cl === undefined) return { kind: 'close' };
  return /^\d{1,15}$/.test(cl) ? { kind: 'length', length: Number(cl) } : null;
}

class BadResponse extends Error {}

interface ResponseHandlers {
  onHead(head: ResponseHead): void;
  onBody(bytes: Buffer): void;
  /** The body is complete (framing says so, or the peer closed a close-delimited one). */
  onEnd(): void;
  /**
   * A 101 Switching Protocols, for a request that asked for one (exec's Upgrade): REST is what
   * came after its head, the new protocol's first bytes; the reader is done. Without this
   * handler a 1xx is no answer of ours and fails closed.
   */
  onUpgrade?(head: ResponseHead, rest: Buffer): void;
}

/**
 * Reads one HTTP/1.1 response from a byte stream: push() what arrives, closed() when the peer
 * closes. Throws BadResponse on what is not a well-formed response; after onEnd, ignores the rest.
 */
export class ResponseReader {
  #buf: Buffer = Buffer.alloc(0);
  #framing: Framing | null = null;
  /** Body bytes still due: of the whole body (length), or of the current chunk (chunked). */
  #left = 0;
  /** Chunked: what is expected next. */
  #chunk: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  #done = false;
  readonly #on: ResponseHandlers;

  constructor(on: ResponseHandlers) {
    this.#on = on;
  }

  get done(): boolean {
    return this.#done;
  }

  push(bytes: Buffer): void {
    if (this.#done) return;
    this.#buf = this.#buf.length === 0 ? bytes : Buffer.concat([this.#buf, bytes]);
    if (this.#framing === null) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.#buf.length > MAX_HEAD) throw new BadResponse('response head too large');
        return;
      }
      const head = parseHead(this.#buf.toString('latin1', 0, end));
      if (head?.status === 101 && this.#on.onUpgrade !== undefined) {
        const rest = this.#buf.subarray(end + 4);
        this.#done = true;
        this.#buf = Buffer.alloc(0);
        this.#on.onUpgrade(head, rest);
        return;
      }
      const framing = head === null ? null : framingOf(head);
      if (head === null || framing === null) throw new BadResponse('not an HTTP/1.1 response');
      this.#framing = framing;
      this.#buf = this.#buf.subarray(end + 4);
      if (framing.kind === 'length') this.#left = framing.length;
      this.#on.onHead(head);
    }
    this.#body();
  }

  /** The peer closed the connection: the end of a close-delimited body, else a cut-off answer. */
  closed(): void {
    if (this.#done) return;
    if (this.#framing?.kind !== 'close') throw new BadResponse('the connection closed before the answer was complete');
    this.#finish();
  }

  #finish(): void {
    this.#done = true;
    this.#buf = Buffer.alloc(0);
    this.#on.onEnd();
  }

  #take(n: number): void {
    const part = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    if (part.length > 0) this.#on.onBody(part);
  }

  #body(): void {
    const f = this.#framing;
    if (f === null || this.#done) return;
    if (f.kind === 'close') return this.#take(this.#buf.length);
    if (f.kind === 'length') {
      const n = Math.min(this.#left, this.#buf.length);
      this.#left -= n;
      this.#take(n);
      if (this.#left === 0) this.#finish();
      return;
    }
    while (!this.#done) {
      if (this.#chunk === 'data') {
        const n = Math.min(this.#left, this.#buf.length);
        this.#left -= n;
        this.#take(n);
        if (this.#left > 0) return;
        this.#chunk = 'crlf';
        continue;
      }
      const eol = this.#buf.indexOf('\r\n');
      if (eol < 0) {
        if (this.#buf.length > MAX_HEAD) throw new BadResponse('chunk header too large');
        return;
      }
      const line = this.#buf.toString('latin1', 0, eol);
      this.#buf = this.#buf.subarray(eol + 2);
      if (this.#chunk === 'crlf') {
        if (line !== '') throw new BadResponse('chunk not followed by CRLF');
        this.#chunk = 'size';
      } else if (this.#chunk === 'size') {
        const m = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
        if (m === null) throw new BadResponse('bad chunk size');
        this.#left = parseInt(m[1] as string, 16);
        this.#chunk = this.#left === 0 ? 'trailer' : 'data';
      } else if (line === '') this.#finish(); // trailer fields end with an empty line
    }
  }
}

interface Exchange {
  socket: Socket;
}

/**
 * Sends one request on a new connection to socketPath and reads the response into `on`. Errors
 * (connecting, a malformed answer, a cut-off one) go to onError once; the socket is destroyed.
 */
function exchange(socketPath: string, method: string, path: string, data: string | undefined, on: ResponseHandlers & { onError(err: Error): void }): Exchange {
  if (BAD_PATH.test(path)) throw Object.assign(new TypeError('Request path contains unescaped characters'), { code: 'ERR_UNESCAPED_CHARACTERS' });
  // Bytes are taken with `onread` rather than 'data' events: the socket's readable stream never
  // flows, whose first use is ~0.8 ms of a served verb's start (issue 23). The buffer is reused
  // for every read, so each read is copied before the reader keeps it.
  const socket = process.getBuiltinModule('node:net').createConnection({
    path: socketPath,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER),
      callback: (n: number, buf: Uint8Array): boolean => {
        guard(() => reader.push(Buffer.from(buf.subarray(0, n))));
        return true;
      },
    },
  });
  let failed = false;
  const fail = (err: Error): void => {
    if (failed || reader.done) return;
    failed = true;
    socket.destroy();
    on.onError(err);
  };
  const reader = new ResponseReader({
    onHead: (h) => on.onHead(h),
    onBody: (b) => on.onBody(b),
    onEnd: () => {
      socket.destroy();
      on.onEnd();
    },
  });
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      fail(err as Error);
    }
  };
  socket.on('end', () => guard(() => reader.closed()));
  socket.on('close', () => guard(() => reader.closed()));
  socket.on('error', fail);
  const headers = data === undefined ? '' : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(data)}\r\n`;
  const head = Buffer.from(`${method} ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${headers}\r\n`, 'latin1');
  // One write: the request reaches the socket whole when it connects. As two writes, the body
  // went out after the head's write completed, and a supervisor that answers from the head alone
  // (404, no such sandbox) and closes could be gone by then: EPIPE instead of its answer.
  socket.write(data === undefined ? head : Buffer.concat([head, Buffer.from(data)]));
  return { socket };
}

export class SupervisorUnavailableError extends Error {
  readonly socketPath: string;
  constructor(socketPath: string) {
    super(`no supervisor is running for ${homePaths(socketPath.replace(/\/run\/api\.sock$/, '')).home} (no answer on ${socketPath}); start one with:  nemoclaw serve &`);
    this.socketPath = socketPath;
  }
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.reason ?? body.error ?? `HTTP ${status}`));
    this.status = status;
    this.body = body;
  }
}

/**
 * No socket file: no supervisor, as connect() would find (ENOENT), known without loading node:net
 * and its streams, ~4 ms of every `list` or `status` on a machine without `nemoclaw serve` (issue
 * 23). Anything else (a socket nobody listens on, a path that cannot be looked at) is connect()'s.
 */
function noSocket(socketPath: string): boolean {
  try {
    return process.getBuiltinModule('node:fs').statSync(socketPath, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

function unavailable(err: NodeJS.ErrnoException, socketPath: string): Error {
  return err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new SupervisorUnavailableError(socketPath) : err;
}

/** What a failed exchange rejects with: no supervisor, an answer that is not HTTP, or the error itself. */
function answerError(err: Error, status: number, socketPath: string): Error {
  return err instanceof BadResponse ? new ApiError(status, { error: 'bad_response', reason: err.message }) : unavailable(err, socketPath);
}

export class ApiClient {
  readonly socketPath: string;

  constructor(socketPath: string = homePaths().api) {
    this.socketPath = socketPath;
  }

  /** JSON request; non-2xx answers throw ApiError. */
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      if (noSocket(this.socketPath)) return reject(new SupervisorUnavailableError(this.socketPath));
      let status = 0;
      const parts: Buffer[] = [];
      exchange(this.socketPath, method, path, body === undefined ? undefined : JSON.stringify(body), {
        onHead: (h) => (status = h.status),
        onBody: (b) => parts.push(b),
        onEnd: () => {
          const text = Buffer.concat(parts).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            return reject(new ApiError(status, { error: 'bad_response', reason: text.slice(0, 200) }));
          }
          if (status >= 300) reject(new ApiError(status, parsed));
          else resolve(parsed as T);
        },
        onError: (err) => reject(answerError(err, status, this.socketPath)),
      });
    });
  }

  /** An NDJSON stream (GET, or `method` with a JSON body); onLine per parsed line. Resolves when the stream ends; abort() ends it early. */
  stream(path: string, onLine: (v: Record<string, unknown>) => void, send?: { method: string; body: unknown }): { done: Promise<void>; abort(): void } {
    let aborted = false;
    let x: Exchange | undefined;
    const done = new Promise<void>((resolve, reject) => {
      if (noSocket(this.socketPath)) return reject(new SupervisorUnavailableError(this.socketPath));
      let status = 0;
      // A line is cut at a newline byte, which is never inside a UTF-8 sequence, then decoded.
      let partial: Buffer = Buffer.alloc(0);
      const parts: Buffer[] = [];
      const lines = (b: Buffer): void => {
        partial = partial.length === 0 ? b : Buffer.concat([partial, b]);
        let nl: number;
        while ((nl = partial.indexOf(10)) >= 0) {
          const line = partial.toString('utf8', 0, nl);
          partial = partial.subarray(nl + 1);
          if (line !== '') onLine(JSON.parse(line) as Record<string, unknown>);
        }
      };
      x = exchange(this.socketPath, send?.method ?? 'GET', path, send === undefined ? undefined : JSON.stringify(send.body), {
        onHead: (h) => (status = h.status),
        onBody: (b) => (status >= 300 ? parts.push(b) : lines(b)),
        onEnd: () => {
          if (status < 300) return resolve();
          try {
            reject(new ApiError(status, JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>));
          } catch {
            reject(new ApiError(status, { error: 'bad_response' }));
          }
        },
        onError: (err) => (aborted ? resolve() : reject(answerError(err, status, this.socketPath))),
      });
    });
    return {
      done,
      abort() {
        aborted = true;
        x?.socket.destroy();
      },
    };
  }

  /**
   * Opens an exec session: frames (see exec.ts) flow on the returned socket, paused until its
   * reader has a 'data' listener and resumes it; head is what came after the 101 in the same read.
   * The Upgrade is spoken over node:net, as call() is, rather than through node:http, whose client,
   * agent and parser modules cost every `nemoclaw NAME exec` ~4 ms (issue 23).
   */
  exec(name: string, er: ExecRequest): Promise<{ socket: Socket; head: Buffer }> {
    return new Promise((resolve, reject) => {
      if (noSocket(this.socketPath)) return reject(new SupervisorUnavailableError(this.socketPath));
      const path = `/v1/sandboxes/${encodeURIComponent(name)}/exec`;
      const request = Buffer.from(
        `POST ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: Upgrade\r\nupgrade: nemoclaw-exec\r\nx-nemoclaw-exec: ${Buffer.from(JSON.stringify(er)).toString('base64')}\r\ncontent-length: 0\r\n\r\n`,
        'latin1',
      );
      const socket = process.getBuiltinModule('node:net').createConnection({ path: this.socketPath });
      let settled = false;
      const settle = (err: Error | null, value?: { socket: Socket; head: Buffer }): void => {
        if (settled) return;
        settled = true;
        socket.off('data', onData);
        if (err !== null) {
          socket.destroy();
          reject(err);
        } else resolve(value as { socket: Socket; head: Buffer });
      };
      // Anything but a 101 is an answer with a JSON body (refused: 400, 404, 409), read whole.
      let status = 0;
      const body: Buffer[] = [];
      const reader = new ResponseReader({
        onHead: (h) => (status = h.status),
        onBody: (b) => body.push(b),
        onEnd: () => {
          try {
            settle(new ApiError(status, JSON.parse(Buffer.concat(body).toString('utf8')) as Record<string, unknown>));
          } catch {
            settle(new ApiError(status, { error: 'bad_response' }));
          }
        },
        onUpgrade: (h, rest) => {
          if (h.headers.get('upgrade')?.toLowerCase() !== 'nemoclaw-exec') throw new BadResponse('a 101 to another protocol');
          socket.pause();
          settle(null, { socket, head: rest });
        },
      });
      const guard = (fn: () => void): void => {
        try {
          fn();
        } catch (err) {
          settle(answerError(err as Error, status, this.socketPath));
        }
      };
      const onData = (chunk: Buffer): void => guard(() => reader.push(chunk));
      socket.on('data', onData);
      socket.once('end', () => {
        if (!settled) guard(() => reader.closed()); // after the 101 it is the session's own end
      });
      // Kept after the 101 too: an error in the turn before the caller's own listener is attached
      // must not go unhandled (the caller hears of it as the socket's close).
      socket.on('error', (err) => settle(unavailable(err, this.socketPath)));
      socket.write(request);
    });
  }
}
