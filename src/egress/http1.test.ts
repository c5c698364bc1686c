import { describe, expect, it } from 'vitest';
import { ChunkedDecoder, parseAbsoluteTarget, parseAuthority, parseRequestHead } from './http1.ts';

const ok = (s: string) => {
  const r = parseRequestHead(Buffer.from(s, 'latin1'));
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r;
};
const err = (s: string | Buffer) => {
  const r = parseRequestHead(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  expect(r.kind, JSON.stringify(s.toString().slice(0, 60))).toBe('error');
  return r.kind === 'error' ? r : null;
};

describe('strict HTTP/1.1 request-head parser', () => {
  it('parses a well-formed head and reports the bytes consumed', () => {
    const text = 'GET http://a.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\nNEXT';
    const r = ok(text);
    expect(r.head).toMatchObject({ method: 'GET', target: 'http://a.test/x?y=1', minor: 1, keepAlive: true, body: { kind: 'none' } });
    expect(r.consumed).toBe(text.length - 4);
  });

  it('waits for more bytes instead of guessing', () => {
    expect(parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n')).kind).toBe('incomplete');
    expect(parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r')).kind).toBe('incomplete');
  });

  it('understands bodies: Content-Length, chunked, none', () => {
    expect(ok('POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n').head.body).toEqual({ kind: 'length', length: 12 });
    expect(ok('POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n').head.body).toEqual({ kind: 'chunked' });
    expect(ok('POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n').head.body).toEqual({ kind: 'none' });
  });

  it('keep-alive semantics for 1.0 and 1.1', () => {
    expect(ok('GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').head.keepAlive).toBe(false);
    expect(ok('GET http://a/ HTTP/1.0\r\n\r\n').head.keepAlive).toBe(false);
    expect(ok('GET http://a/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').head.keepAlive).toBe(true);
  });

  it.each([
    ['bare LF line endings', 'GET / HTTP/1.1\nHost: a\n\n'],
    ['bare LF inside a line', 'GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n'],
    ['bare CR', 'GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n'],
    ['obs-fold (space)', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n'],
    ['obs-fold (tab)', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n'],
    ['duplicate Host', 'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n'],
    ['duplicate Host, different case', 'GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n'],
    ['missing Host in 1.1', 'GET / HTTP/1.1\r\nX: a\r\n\r\n'],
    ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n'],
    ['Content-Length list', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n'],
    ['signed Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n'],
    ['hex Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n'],
    ['huge Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n'],
    ['CL + TE', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['TE not chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'],
    ['TE chunked twice', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['TE chunked, chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n'],
    ['TE with junk', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n'],
    ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n'],
    ['tab before colon', 'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n'],
    ['empty header name', 'GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n'],
    ['no colon', 'GET / HTTP/1.1\r\nHost a\r\n\r\n'],
    ['control char in value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n'],
    ['DEL in value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n'],
    ['two spaces in request line', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['space in target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['non-ASCII target', 'GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['lower-case version', 'GET / http/1.1\r\nHost: a\r\n\r\n'],
    ['HTTP/0.9 style', 'GET /\r\n\r\n'],
    ['HTTP/2', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'],
    ['bad method', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['leading empty line', '\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['trailing space on request line', 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n'],
  ])('rejects %s', (_name, text) => {
    err(text);
  });

  it('rejects NUL anywhere in the head', () => {
    err(Buffer.from('GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n', 'latin1'));
    err(Buffer.from('GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'));
  });

  it('rejects over-long heads and too many fields, even without a terminator', () => {
    const long = `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(17000)}`;
    expect(err(long)?.status).toBe(431);
    const many = `GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(101)}\r\n`;
    expect(err(many)?.status).toBe(431);
  });
});

describe('authority and target parsing', () => {
  it('parses host:port and [v6]:port', () => {
    expect(parseAuthority('a.test:443')).toEqual({ host: 'a.test', port: 443 });
    expect(parseAuthority('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseAuthority('a.test', 80)).toEqual({ host: 'a.test', port: 80 });
  });
  it.each(['a.test', 'a.test:', 'a.test:0', 'a.test:65536', 'a.test:+1', 'a.test:0x50', 'u@a.test:443', 'a%2etest:443', '::1:443', '[::1]443', ':443', '[::1'])(
    'rejects authority %s',
    (a) => {
      expect('error' in parseAuthority(a)).toBe(true);
    },
  );
  it('parses absolute-form targets and refuses userinfo, fragments and other schemes', () => {
    expect(parseAbsoluteTarget('http://a.test:81/p/q?x=1')).toMatchObject({ scheme: 'http', host: 'a.test', port: 81, path: '/p/q', query: 'x=1' });
    expect(parseAbsoluteTarget('HTTP://a.test')).toMatchObject({ host: 'a.test', port: 80, path: '/' });
    expect(parseAbsoluteTarget('http://[::1]/')).toMatchObject({ host: '::1', port: 80 });
    for (const bad of ['http://u:p@a.test/', 'http://a.test/#f', 'ftp://a.test/', 'http:/a.test/', 'http://a%2e.test/', 'http://:80/']) {
      expect('error' in parseAbsoluteTarget(bad), bad).toBe(true);
    }
  });
});

describe('strict chunked decoder', () => {
  it('decodes across arbitrary splits and returns the bytes after the body', () => {
    const wire = Buffer.from('4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-T: 1\r\n\r\nNEXT');
    for (let split = 1; split < wire.length; split++) {
      const d = new ChunkedDecoder();
      const a = d.push(wire.subarray(0, split));
      let data = Buffer.concat(a.data).toString();
      let rest: string;
      if (d.done) rest = Buffer.concat([a.rest ?? Buffer.alloc(0), wire.subarray(split)]).toString();
      else {
        const b = d.push(wire.subarray(split));
        data += Buffer.concat(b.data).toString();
        rest = b.rest?.toString() ?? '';
      }
      expect(data).toBe('abcdefg');
      expect(d.done).toBe(true);
      expect(rest).toBe('NEXT');
    }
  });
  it.each([
    ['negative size', '-1\r\n'],
    ['size with space', '4 \r\nabcd\r\n'],
    ['0x prefix', '0x4\r\nabcd\r\n'],
    ['too many digits', '123456789\r\n'],
    ['bare LF', '4\nabcd\r\n'],
    ['missing CRLF after data', '4\r\nabcdX\r\n'],
    ['bad trailer', '0\r\nbad trailer\r\n\r\n'],
  ])('rejects %s', (_n, wire) => {
    const r = new ChunkedDecoder().push(Buffer.from(wire));
    expect(r.error, `${wire} must be refused with a reason`).toMatch(/\S/);
  });
});
