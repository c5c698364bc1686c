// `inference.local`: the proxy hands these requests to the sandbox's inference router (src/inference)
// instead of dialling anything; until a router is set, it answers 503. The router writes its answer
// through InferenceResponse, which frames it for the client.

import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { pumpBody } from './body.ts';
import { Refusal } from './context.ts';
import type { ProxyContext, Tracked } from './context.ts';
import type { RequestHead } from './http1.ts';
import type { StreamReader } from './reader.ts';
import type { InferenceResponse } from './types.ts';
import { HOP_BY_HOP, LAST_CHUNK, STATUS_TEXT, serializeHead, writeChunk } from './wire.ts';

export const INFERENCE_HOST = 'inference.local';

/** Serves one inference.local request; returns whether the connection stays open. */
export async function serveInference(ctx: ProxyContext, t: Tracked, stream: Duplex, reader: StreamReader, head: RequestHead, url: string): Promise<boolean> {
  const router = ctx.inference();
  if (!router) {
    throw new Refusal(503, {
      error: 'inference_unavailable',
      host: INFERENCE_HOST,
      reason: 'no inference router is configured for this sandbox yet; inference.local answers once `nemoclaw serve` runs with an inference profile',
    });
  }
  const body = new Readable({ read() {} });
  const feeding = pumpBody(
    reader,
    head,
    {
      write: (b: Buffer) => body.push(b),
      end: () => body.push(null),
    },
    ctx.bodyIdleTimeoutMs,
  );
  feeding.catch((err: unknown) => body.destroy(err instanceof Error ? err : undefined));
  let headWritten = false;
  let chunked = false;
  const res: InferenceResponse = {
    writeHead(status, headers = {}) {
      if (headWritten) return;
      headWritten = true;
      const fields: Array<[string, string]> = [];
      let hasLength = false;
      for (const [k, v] of Object.entries(headers)) {
        const l = k.toLowerCase();
        if (HOP_BY_HOP.has(l)) continue;
        if (l === 'content-length') hasLength = true;
        fields.push([k, v]);
      }
      if (!hasLength) {
        chunked = true;
        fields.push(['Transfer-Encoding', 'chunked']);
      }
      fields.push(['Connection', head.keepAlive ? 'keep-alive' : 'close']);
      stream.write(serializeHead(status, STATUS_TEXT[status] ?? (status < 300 ? 'OK' : 'Status'), fields));
    },
    write(chunk) {
      if (!headWritten) res.writeHead(200);
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (b.length === 0) return Promise.resolve();
      const ok = chunked ? writeChunk(stream, b) : stream.write(b);
      return ok ? Promise.resolve() : new Promise((r) => stream.once('drain', () => r()));
    },
    async end(chunk) {
      if (chunk !== undefined) await res.write(chunk);
      if (!headWritten) res.writeHead(200, { 'Content-Length': '0' });
      if (chunked) stream.write(LAST_CHUNK);
    },
  };
  await router.handle({ sandbox: ctx.sandbox, binary: t.binary, method: head.method, url, headers: head.headers, body }, res);
  await feeding;
  return head.keepAlive;
}
