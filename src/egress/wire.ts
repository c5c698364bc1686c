// How the proxy writes HTTP/1.1 onto a client connection: status heads, chunk framing, and the
// JSON answers it gives itself. One place, so that every head the proxy writes is built the same
// way (CR/LF never taken from a peer) and every chunk is framed the same way.

import type { Duplex } from 'node:stream';

export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** Hop-by-hop fields: never passed on in either direction (the proxy writes its own). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

const CRLF = /[\r\n]/;

/** A response head: the status line and the fields, in order; fields holding CR or LF are dropped. */
export function serializeHead(status: number, reason: string, fields: ReadonlyArray<readonly [string, string]>): string {
  const lines = [`HTTP/1.1 ${status} ${reason.replace(/[\r\n]/g, '')}`];
  for (const [k, v] of fields) if (!CRLF.test(k) && !CRLF.test(v)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Writes one chunk of a chunked body (nothing for an empty buffer: that would end the body). Returns write()'s backpressure answer. */
export function writeChunk(stream: Duplex, data: Buffer): boolean {
  if (data.length === 0) return true;
  stream.write(`${data.length.toString(16)}\r\n`);
  stream.write(data);
  return stream.write('\r\n');
}

export const LAST_CHUNK = '0\r\n\r\n';

/** The proxy's own JSON answer (refusals, errors), complete with framing. */
export function jsonResponse(status: number, body: Record<string, unknown>, keepAlive = false): Buffer {
  const text = `${JSON.stringify(body)}\n`;
  const head = serializeHead(status, STATUS_TEXT[status] ?? 'Error', [
    ['Content-Type', 'application/json'],
    ['Content-Length', String(Buffer.byteLength(text))],
    ['Cache-Control', 'no-store'],
    ['Connection', keepAlive ? 'keep-alive' : 'close'],
  ]);
  return Buffer.from(head + text, 'utf8'); // the head is ASCII; the body's length was counted in UTF-8
}

/** Raw header pairs ([k, v, k, v, ...] as Node gives them) as tuples. */
export function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}
