// Client of the control API (the CLI, the TUI, scripts): JSON calls, NDJSON streams and exec.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ExecRequest } from './exec.ts';
import { homePaths } from '../state/index.ts';

// node:http through process.getBuiltinModule, not an ESM import, which evaluates every export: its
// lazy WebSocket getters load Node's bundled undici, ~40 ms on each CLI start (issue 23).
const { request } = process.getBuiltinModule('node:http');

// A unix socket carries no TLS, so each request names no TLS server: otherwise http's agent
// derives one from the Host header and tests it with net.isIP, whose IPv6 regular expression
// takes 3-20 ms to compile on its first use, on every CLI verb that asks (issue 23). '' is what
// the agent would derive for an address; only TLS reads it.
const NO_SERVERNAME: object = { servername: '' };

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

function unavailable(err: NodeJS.ErrnoException, socketPath: string): Error {
  return err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new SupervisorUnavailableError(socketPath) : err;
}

export class ApiClient {
  readonly socketPath: string;

  constructor(socketPath: string = homePaths().api) {
    this.socketPath = socketPath;
  }

  /** JSON request; non-2xx answers throw ApiError. */
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ ...NO_SERVERNAME, socketPath: this.socketPath, method, path, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            return reject(new ApiError(res.statusCode ?? 0, { error: 'bad_response', reason: text.slice(0, 200) }));
          }
          if ((res.statusCode ?? 0) >= 300) reject(new ApiError(res.statusCode ?? 0, parsed));
          else resolve(parsed as T);
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(unavailable(err, this.socketPath)));
      req.end(data);
    });
  }

  /** An NDJSON stream (GET, or `method` with a JSON body); onLine per parsed line. Resolves when the stream ends; abort() ends it early. */
  stream(path: string, onLine: (v: Record<string, unknown>) => void, send?: { method: string; body: unknown }): { done: Promise<void>; abort(): void } {
    let res: IncomingMessage | null = null;
    let aborted = false;
    const data = send === undefined ? undefined : JSON.stringify(send.body);
    const req = request({ ...NO_SERVERNAME, socketPath: this.socketPath, method: send?.method ?? 'GET', path, headers: data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} });
    const done = new Promise<void>((resolve, reject) => {
      req.on('response', (r) => {
        res = r;
        if ((r.statusCode ?? 0) >= 300) {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (text += c));
          r.on('end', () => {
            try {
              reject(new ApiError(r.statusCode ?? 0, JSON.parse(text) as Record<string, unknown>));
            } catch {
              reject(new ApiError(r.statusCode ?? 0, { error: 'bad_response' }));
            }
          });
          return;
        }
        let partial = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => {
          partial += c;
          let nl: number;
          while ((nl = partial.indexOf('\n')) >= 0) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            if (line !== '') onLine(JSON.parse(line) as Record<string, unknown>);
          }
        });
        r.on('end', () => resolve());
        r.on('close', () => resolve());
        r.on('error', (e) => (aborted ? resolve() : reject(e)));
      });
      req.on('error', (err: NodeJS.ErrnoException) => (aborted ? resolve() : reject(unavailable(err, this.socketPath))));
    });
    req.end(data);
    return {
      done,
      abort() {
        aborted = true;
        (res as IncomingMessage | null)?.destroy();
        req.destroy();
      },
    };
  }

  /** Opens an exec session: frames (see exec.ts) flow on the returned socket. */
  exec(name: string, er: ExecRequest): Promise<{ socket: Socket; head: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({
        ...NO_SERVERNAME,
        socketPath: this.socketPath,
        method: 'POST',
        path: `/v1/sandboxes/${encodeURIComponent(name)}/exec`,
        headers: { connection: 'Upgrade', upgrade: 'nemoclaw-exec', 'x-nemoclaw-exec': Buffer.from(JSON.stringify(er)).toString('base64') },
      });
      req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            reject(new ApiError(res.statusCode ?? 0, JSON.parse(text) as Record<string, unknown>));
          } catch {
            reject(new ApiError(res.statusCode ?? 0, { error: 'bad_response' }));
          }
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(unavailable(err, this.socketPath)));
      req.end();
    });
  }
}
