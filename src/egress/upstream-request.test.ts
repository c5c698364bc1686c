import { describe, expect, it } from 'vitest';
import { parseRequestHead } from './http1.ts';
import type { RequestHead } from './http1.ts';
import { planUpstreamRequest } from './upstream-request.ts';

function head(text: string): RequestHead {
  const r = parseRequestHead(Buffer.from(text, 'latin1'));
  if (r.kind !== 'ok') throw new Error(`test request did not parse: ${JSON.stringify(r)}`);
  return r.head;
}

const plan = (text: string, l7 = true) => planUpstreamRequest(head(`${text}\r\n\r\n`), { host: 'api.test', l7 });

/** The rebuilt fields as [name, value] pairs, names lower-cased. */
function fields(text: string, l7 = true): Array<[string, string]> {
  const p = plan(text, l7);
  if (!p.ok) throw new Error(p.reason);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < p.headers.length; i += 2) out.push([(p.headers[i] as string).toLowerCase(), p.headers[i + 1] as string]);
  return out;
}

describe('planUpstreamRequest: the forwarded head is rebuilt from the one parse', () => {
  it('writes exactly one framing field from the parsed body, whatever the client wrote', () => {
    expect(fields('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 007').filter(([k]) => k === 'content-length' || k === 'transfer-encoding')).toEqual([['content-length', '7']]);
    expect(fields('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked').filter(([k]) => k === 'content-length' || k === 'transfer-encoding')).toEqual([['transfer-encoding', 'chunked']]);
    expect(fields('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0').filter(([k]) => k === 'content-length')).toEqual([['content-length', '0']]);
    expect(fields('GET / HTTP/1.1\r\nHost: x').filter(([k]) => k === 'content-length' || k === 'transfer-encoding')).toEqual([]);
  });

  it('the Host field is the decided target, not the client spelling', () => {
    expect(fields('GET / HTTP/1.1\r\nHost: API.TEST.').filter(([k]) => k === 'host')).toEqual([['host', 'api.test']]);
  });

  it.each(['close, Content-Length', 'Content-Length', 'keep-alive, content-length', 'Transfer-Encoding', 'Host', 'upgrade'])('refuses Connection: %s', (conn) => {
    const p = plan(`GET / HTTP/1.1\r\nHost: x\r\nConnection: ${conn}\r\nContent-Length: 3`);
    expect(p.ok).toBe(false);
  });

  it('drops what Connection names otherwise (end-to-end fields may be made hop-by-hop)', () => {
    expect(fields('GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-Trace\r\nX-Trace: 1\r\nX-Keep: 2').map(([k]) => k)).toEqual(['x-keep', 'host']);
  });

  it.each(['Transfer_Encoding: chunked', 'Content_Length: 3', 'X_HTTP_Method_Override: DELETE', 'Proxy_Connection: close', 'HOST_: x'])('refuses the _ twin %s, and passes other _ names', (field) => {
    const p = plan(`GET / HTTP/1.1\r\nHost: x\r\n${field}`);
    if (field.startsWith('HOST_')) expect(p.ok).toBe(true);
    else expect(p.ok).toBe(false);
  });

  it('strips method overrides where rules decide, passes them where nothing was decided on the method', () => {
    const req = 'GET / HTTP/1.1\r\nHost: x\r\nX-HTTP-Method-Override: DELETE\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE';
    expect(fields(req, true).map(([k]) => k)).toEqual(['host']);
    expect(fields(req, false).map(([k]) => k)).toEqual(['x-http-method-override', 'x-http-method', 'x-method-override', 'host']);
  });

  it('TE: only trailers', () => {
    expect(plan('GET / HTTP/1.1\r\nHost: x\r\nConnection: TE\r\nTE: trailers').ok).toBe(true);
    expect(plan('GET / HTTP/1.1\r\nHost: x\r\nTE: gzip').ok).toBe(false);
  });

  it('a WebSocket upgrade needs a valid key, and is the only upgrade passed on', () => {
    const ws = plan('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
    expect(ws.ok && ws.websocketKey).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(plan('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: short').ok).toBe(false);
    const h2c = plan('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA');
    expect(h2c.ok && h2c.websocketKey).toBe(null);
    expect(h2c.ok && h2c.headers.map((k) => k.toLowerCase())).not.toContain('upgrade');
  });

  it('passes 100-continue to the caller, not upstream', () => {
    const p = plan('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1');
    expect(p.ok && p.expectContinue).toBe(true);
    expect(p.ok && p.headers.map((k) => k.toLowerCase())).not.toContain('expect');
  });
});
