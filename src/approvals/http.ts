// JSON over HTTP for the control API (control.ts). Exported through index.ts because the
// supervisor's own API (src/supervisor/http.ts) serves with the same two helpers.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers with `body` as one line of JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Reads a JSON request body of at most `max` bytes (larger: throws `body too large`). An empty
 * body is `{}` with `emptyIsObject`, otherwise a JSON parse error like any other bad body.
 */
export async function readJsonBody(req: IncomingMessage, max: number, emptyIsObject = false): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new Error('body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return emptyIsObject && text === '' ? {} : (JSON.parse(text) as unknown);
}
