// The control API client's HTTP/1.1 over node:net (src/supervisor/client.ts, issue 23): JSON calls
// and NDJSON streams against a real node:http server on a unix socket (Content-Length, chunked,
// errors, a stream followed then aborted), and against raw sockets that answer what no HTTP
// server should (fails closed as bad_response); exec's Upgrade against raw sockets (a 101 with
// frames in the same write, a refusal, what is neither). The response reader is also fed byte by
// byte.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError, FrameParser, ResponseReader, SupervisorUnavailableError, frame } from '../../src/supervisor/client.ts';
import type { Frame } from '../../src/supervisor/client.ts';
import { waitFor } from '../helpers/wait.ts';

const { createServer } = process.getBuiltinModule('node:http');
const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-transport-'));
const httpSock = join(dir, 'http.sock');

/** What the server saw of the last request. */
let seen: { method?: string; url?: string; body: string; contentType?: string } = { body: '' };
const followers = new Set<ServerResponse>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    seen = { method: req.method, url: req.url, body, contentType: req.headers['content-type'] };
    const json = (status: number, v: unknown): void => {
      const text = `${JSON.stringify(v)}\n`;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.url === '/ok') return json(200, { hello: 'wörld', echo: body === '' ? null : JSON.parse(body) });
    if (req.url === '/missing') return json(404, { error: 'not_found', reason: 'no sandbox named x' });
    if (req.url === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('not json at all');
    }
    if (req.url === '/lines') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      // A multi-byte character split across two writes (chunks), and a line split across three.
      const bytes = Buffer.from('{"n":1,"s":"é"}\n{"n":2}\n{"n":', 'utf8');
      const cut = bytes.indexOf(0xa9); // inside é
      res.write(bytes.subarray(0, cut));
      res.write(bytes.subarray(cut));
      res.write('3}\n');
      return void res.end();
    }
    if (req.url === '/follow') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      followers.add(res);
      res.on('close', () => followers.delete(res));
      return;
    }
    if (req.url === '/follow-then-die') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (req.url === '/stream-409') return json(409, { error: 'conflict', reason: 'not running' });
    json(500, { error: 'unexpected' });
  });
}

const server = createServer(handle);
const rawServers: NetServer[] = [];

/** A socket whose server writes `reply` to every connection, then closes it. */
async function rawSocket(name: string, reply: string): Promise<string> {
  const path = join(dir, `${name}.sock`);
  const s = createNetServer((c: Socket) => {
    c.once('data', () => c.end(reply));
    c.on('error', () => {});
  });
  rawServers.push(s);
  await new Promise<void>((r) => s.listen(path, r));
  return path;
}

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(httpSock, r));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  for (const s of rawServers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ApiClient.call', () => {
  const api = new ApiClient(httpSock);

  it('GETs and POSTs JSON, UTF-8 both ways', async () => {
    expect(await api.call('GET', '/ok')).toEqual({ hello: 'wörld', echo: null });
    expect(seen).toMatchObject({ method: 'GET', url: '/ok', body: '' });
    expect(await api.call('POST', '/ok', { name: 'ünï' })).toEqual({ hello: 'wörld', echo: { name: 'ünï' } });
    expect(seen).toMatchObject({ method: 'POST', contentType: 'application/json' });
  });

  it('reads an answer of many reads whole (each read is copied out of the reused buffer)', async () => {
    // ~1 MB each way, every element different: a read kept by reference would be overwritten by the next.
    const items = Array.from({ length: 40_000 }, (_, i) => `item-${i}-é-${(i * 7919) % 10007}`);
    expect(await api.call('POST', '/ok', { items })).toEqual({ hello: 'wörld', echo: { items } });
  });

  it('turns an error status into ApiError with the body', async () => {
    const err = await api.call('GET', '/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, message: 'no sandbox named x', body: { error: 'not_found' } });
  });

  it('a body that is no JSON is bad_response, with its start', async () => {
    await expect(api.call('GET', '/text')).rejects.toMatchObject({ status: 200, body: { error: 'bad_response', reason: 'not json at all' } });
  });

  it('no socket: SupervisorUnavailableError', async () => {
    await expect(new ApiClient(join(dir, 'absent.sock')).call('GET', '/ok')).rejects.toBeInstanceOf(SupervisorUnavailableError);
  });

  it("a socket left by a supervisor that was killed (nobody listens): the same error, from connect's refusal", async () => {
    const left = join(dir, 'left.sock');
    const r = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(left)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(left)).toBe(true);
    const err = await new ApiClient(left).call('GET', '/ok').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SupervisorUnavailableError);
    expect(err).toMatchObject({ message: new SupervisorUnavailableError(left).message });
  });

  it('refuses a path with controls or spaces before sending anything', async () => {
    await expect(api.call('GET', '/ok\r\nx-injected: 1')).rejects.toThrow(/unescaped characters/);
    await expect(api.call('GET', '/a b')).rejects.toThrow(/unescaped characters/);
  });

  it.each([
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['a cut-off body', 'HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{"a":'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['an unknown transfer coding', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n{}'],
    ['a bad content-length', 'HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n{}'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbogus\r\ncontent-length: 2\r\n\r\n{}'],
    ['a 1xx answer', 'HTTP/1.1 100 Continue\r\n\r\n'],
  ])('fails closed on %s', async (name, reply) => {
    const path = await rawSocket(name.replace(/\W/g, '-'), reply);
    await expect(new ApiClient(path).call('GET', '/x')).rejects.toMatchObject({ body: { error: 'bad_response' } });
  });

  it('reads a body delimited by the connection closing', async () => {
    const path = await rawSocket('close-delimited', 'HTTP/1.0 200 OK\r\n\r\n{"done":true}');
    expect(await new ApiClient(path).call('GET', '/x')).toEqual({ done: true });
  });
});

describe('ApiClient.stream', () => {
  const api = new ApiClient(httpSock);

  it('parses NDJSON lines across chunk boundaries, multi-byte characters included', async () => {
    const got: unknown[] = [];
    const s = api.stream('/lines', (v) => got.push(v));
    await s.done;
    expect(got).toEqual([{ n: 1, s: 'é' }, { n: 2 }, { n: 3 }]);
  });

  it('follows until aborted, then resolves', async () => {
    const got: unknown[] = [];
    const s = api.stream('/follow', (v) => got.push(v));
    await waitFor(() => (followers.size === 1 ? true : null), 'the server holds the stream');
    for (const r of followers) r.write('{"n":2}\n');
    await waitFor(() => (got.length === 2 ? true : null), 'the second line');
    s.abort();
    await s.done;
    expect(got).toEqual([{ n: 1 }, { n: 2 }]);
    await waitFor(() => (followers.size === 0 ? true : null), 'the server sees the client leave');
  });

  it('an error status is ApiError with the body', async () => {
    const s = api.stream('/stream-409', () => {});
    await expect(s.done).rejects.toMatchObject({ status: 409, body: { reason: 'not running' } });
  });

  it('a stream cut off by the server rejects (it did not end)', async () => {
    const got: unknown[] = [];
    const s = api.stream('/follow-then-die', (v) => got.push(v));
    await expect(s.done).rejects.toMatchObject({ body: { error: 'bad_response' } });
    expect(got).toEqual([{ n: 1 }]);
  });

  it('no supervisor: SupervisorUnavailableError', async () => {
    await expect(new ApiClient(join(dir, 'absent.sock')).stream('/x', () => {}).done).rejects.toBeInstanceOf(SupervisorUnavailableError);
  });
});

describe('ApiClient.exec', () => {
  /** A socket whose server keeps the request it got, answers `reply` and closes. */
  async function execServer(name: string, reply: Buffer): Promise<{ path: string; request: () => string }> {
    const path = join(dir, `exec-${name}.sock`);
    let request = '';
    const s = createNetServer((c: Socket) => {
      c.on('data', (d: Buffer) => {
        request += d.toString('latin1');
        if (request.includes('\r\n\r\n')) c.end(reply);
      });
      c.on('error', () => {});
    });
    rawServers.push(s);
    await new Promise<void>((r) => s.listen(path, r));
    return { path, request: () => request };
  }

  const UPGRADE = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: nemoclaw-exec\r\nconnection: Upgrade\r\n\r\n';

  it('upgrades, and the frames that came in the same write as the 101 are not lost', async () => {
    const exit = Buffer.alloc(8);
    exit.writeInt32BE(7, 0);
    const srv = await execServer('ok', Buffer.concat([Buffer.from(UPGRADE, 'latin1'), frame('o', 'hé'), frame('r', 'err'), frame('x', exit)]));
    const { socket, head } = await new ApiClient(srv.path).exec('my box', { argv: ['sh', '-c', 'x'], tty: false });
    const frames: Frame[] = [];
    const parser = new FrameParser((f) => frames.push(f));
    parser.push(head);
    const closed = new Promise((r) => socket.on('close', r));
    socket.on('data', (d: Buffer) => parser.push(d));
    socket.resume();
    await closed;
    expect(frames.map((f) => [f.type, f.type === 'x' ? f.payload.readInt32BE(0) : f.payload.toString('utf8')])).toEqual([['o', 'hé'], ['r', 'err'], ['x', 7]]);
    // What the supervisor's upgradeExec reads: the path, the Upgrade, the request in its header.
    const req = srv.request();
    expect(req).toMatch(/^POST \/v1\/sandboxes\/my%20box\/exec HTTP\/1\.1\r\n/);
    expect(req).toMatch(/\r\nupgrade: nemoclaw-exec\r\n/);
    const sent = /\r\nx-nemoclaw-exec: ([A-Za-z0-9+/=]+)\r\n/.exec(req)?.[1] ?? '';
    expect(JSON.parse(Buffer.from(sent, 'base64').toString('utf8'))).toMatchObject({ argv: ['sh', '-c', 'x'], tty: false });
  });

  it('a refusal is ApiError with its body', async () => {
    const body = '{"error":"not_running","reason":"sandbox b is not running"}\n';
    const srv = await execServer('refused', Buffer.from(`HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`));
    const err = await new ApiClient(srv.path).exec('b', { argv: ['true'], tty: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, message: 'sandbox b is not running', body: { error: 'not_running' } });
  });

  it.each([
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['a 101 to another protocol', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n'],
    ['a cut-off refusal', 'HTTP/1.1 404 Not Found\r\ncontent-length: 50\r\n\r\n{"a":'],
    ['nothing before the close', ''],
  ])('fails closed on %s', async (name, reply) => {
    const srv = await execServer(name.replace(/\W/g, '-'), Buffer.from(reply, 'latin1'));
    await expect(new ApiClient(srv.path).exec('b', { argv: ['true'], tty: false })).rejects.toMatchObject({ body: { error: 'bad_response' } });
  });

  it('no socket: SupervisorUnavailableError', async () => {
    await expect(new ApiClient(join(dir, 'absent.sock')).exec('b', { argv: ['true'], tty: false })).rejects.toBeInstanceOf(SupervisorUnavailableError);
  });
});

describe('ResponseReader', () => {
  /** Feeds `wire` one byte at a time; what the reader made of it. */
  function byteByByte(wire: string): { status: number; body: string; ended: boolean } {
    let status = 0;
    let ended = false;
    const parts: Buffer[] = [];
    const r = new ResponseReader({ onHead: (h) => (status = h.status), onBody: (b) => parts.push(Buffer.from(b)), onEnd: () => (ended = true) });
    const bytes = Buffer.from(wire, 'utf8');
    for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1));
    return { status, body: Buffer.concat(parts).toString('utf8'), ended };
  }

  it('Content-Length, one byte at a time, ignoring what follows', () => {
    expect(byteByByte('HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\n{"é":1}trailing')).toEqual({ status: 201, body: '{"é":1', ended: true });
  });

  it('chunked with extensions and trailers, one byte at a time', () => {
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nab\ncd\r\n3\r\nxé\r\n0\r\nx-trailer: 1\r\n\r\n';
    expect(byteByByte(wire)).toEqual({ status: 200, body: 'ab\ncdxé', ended: true });
  });

  it('a 204 has no body', () => {
    expect(byteByByte('HTTP/1.1 204 No Content\r\n\r\n')).toEqual({ status: 204, body: '', ended: true });
  });

  it('an oversized head is refused', () => {
    const r = new ResponseReader({ onHead: () => {}, onBody: () => {}, onEnd: () => {} });
    expect(() => r.push(Buffer.alloc(70 * 1024, 0x41))).toThrow(/too large/);
  });
});
