// Loopback servers standing in for model providers in the inference tests and the router bench:
// `fake-cloud-provider` (an OpenAI-compatible cloud API) and `stand-in-nim` (a local NIM/vLLM).
// They are fakes: no model runs; each answers from a script the test sets (an echo of what it
// received, as JSON or as SSE split into small events, with delays, a stall or a cut), and records
// every request it saw, so a test can assert what left the router and how often.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | null;
  raw: string;
}

export type Script =
  /** JSON chat completion whose content is `reply` (default: the last message's text, as received). */
  | { kind: 'json'; reply?: string }
  /** SSE: the reply in events of `piece` characters, `delayMs` apart; then `end` (done: [DONE], cut: socket destroyed, stall: nothing more). */
  | { kind: 'sse'; reply?: string; piece?: number; delayMs?: number; end?: 'done' | 'cut' | 'stall'; after?: number; usage?: boolean }
  | { kind: 'status'; status: number; body: string }
  /** The connection is closed without an answer (a stale keep-alive socket, a crashed server). */
  | { kind: 'drop' };

export interface StandIn {
  name: string;
  url: string;
  port: number;
  seen: Seen[];
  script: Script;
  /** When set, chooses the script per request (instead of `script`). */
  pick: ((seen: Seen) => Script) | null;
  close(): Promise<void>;
}

/** The text the stand-in "answers": what it was sent, so placeholders show up in the answer. */
export function lastText(body: Record<string, unknown> | null): string {
  const msgs = (body?.messages as Array<{ content?: unknown; tool_calls?: Array<{ function: { arguments: string } }> }> | undefined) ?? [];
  const parts: string[] = [];
  for (const m of msgs) {
    if (typeof m.content === 'string') parts.push(m.content);
    for (const tc of m.tool_calls ?? []) parts.push(tc.function.arguments);
  }
  if (typeof body?.input === 'string') parts.push(body.input);
  return parts.join(' | ');
}

function sseChunk(model: string, content: string | null, finish: string | null): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-standin', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: content !== null ? { content } : {}, finish_reason: finish }] })}\n\n`;
}

export async function startStandIn(name: string): Promise<StandIn> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const s: StandIn = { name, url: '', port: 0, seen: [], script: { kind: 'json' }, pick: null, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body: Record<string, unknown> | null;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = null;
      }
      const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, raw };
      s.seen.push(seen);
      answer(res, body, s.pick !== null ? s.pick(seen) : s.script);
    });
  });
  const answer = (res: ServerResponse, body: Record<string, unknown> | null, script: Script): void => {
    const model = typeof body?.model === 'string' ? body.model : 'none';
    if (script.kind === 'drop') {
      res.socket?.destroy();
      return;
    }
    if (script.kind === 'status') {
      res.writeHead(script.status, { 'content-type': 'application/json' });
      res.end(script.body);
      return;
    }
    if (s.seen.at(-1)?.url.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: `${name}-model` }] }));
      return;
    }
    const reply = script.reply ?? `${name} got: ${lastText(body)}`;
    if (script.kind === 'json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'chatcmpl-standin', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const piece = script.piece ?? 3;
    const pieces: string[] = [];
    for (let i = 0; i < reply.length; i += piece) pieces.push(reply.slice(i, i + piece));
    const stopAt = script.end === 'cut' || script.end === 'stall' ? Math.min(script.after ?? 2, pieces.length) : pieces.length;
    let i = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (i < stopAt) {
        res.write(sseChunk(model, pieces[i++] as string, null));
        later(step);
        return;
      }
      if (script.end === 'cut') {
        res.socket?.destroy();
        return;
      }
      if (script.end === 'stall') return; // the router's idle timeout must end it
      res.write(sseChunk(model, null, 'stop'));
      if (script.usage === true || (body?.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) res.write(`data: ${JSON.stringify({ id: 'chatcmpl-standin', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 11, completion_tokens: pieces.length } })}\n\n`);
      res.end('data: [DONE]\n\n');
    };
    const later = (f: () => void): void => {
      if (!script.delayMs) {
        setImmediate(f);
        return;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        f();
      }, script.delayMs);
      timers.add(t);
    };
    step();
  };
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.port = (server.address() as AddressInfo).port;
  s.url = `http://127.0.0.1:${s.port}/v1`;
  s.close = async () => {
    for (const t of timers) clearTimeout(t);
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return s;
}
