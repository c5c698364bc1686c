// Moves a request body from the client to wherever it goes (an upstream request, the inference
// router), decoding the framing the client used; the sink re-frames it. A body that stops arriving
// is answered 408 after an idle bound, so a half-sent body cannot hold a connection forever.

import { Refusal } from './context.ts';
import { ChunkedDecoder } from './http1.ts';
import type { RequestHead } from './http1.ts';
import type { StreamReader } from './reader.ts';

export interface BodySink {
  write(b: Buffer): boolean;
  end(): void;
  once?: (ev: 'drain', cb: () => void) => unknown;
}

const READ_MAX = 64 * 1024;

/** Streams the request body (Content-Length or chunked) from the reader into `sink`; throws a Refusal when it is cut, idle or malformed. */
export async function pumpBody(reader: StreamReader, head: RequestHead, sink: BodySink, idleMs: number): Promise<void> {
  const waitDrain = () => new Promise<void>((r) => (sink.once ? sink.once('drain', () => r()) : r()));
  const next = async (max: number, ended: string): Promise<Buffer> => {
    const b = await reader.read(max, idleMs);
    if (b === 'timeout') throw new Refusal(408, { error: 'request_timeout', reason: `no request body byte for ${Math.round(idleMs / 1000)} s` });
    if (b === null) throw new Refusal(400, { error: 'bad_request', reason: ended });
    return b;
  };
  if (head.body.kind === 'length') {
    let left = head.body.length;
    while (left > 0) {
      const b = await next(Math.min(left, READ_MAX), 'request body ended early');
      left -= b.length;
      if (!sink.write(b)) await waitDrain();
    }
  } else if (head.body.kind === 'chunked') {
    const dec = new ChunkedDecoder();
    for (;;) {
      const r = dec.push(await next(READ_MAX, 'chunked body ended early'));
      if (r.error) throw new Refusal(400, { error: 'bad_request', reason: r.error });
      for (const d of r.data) if (d.length && !sink.write(d)) await waitDrain();
      if (dec.done) {
        if (r.rest && r.rest.length) reader.unshift(r.rest);
        break;
      }
    }
  }
  sink.end();
}
