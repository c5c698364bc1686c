// A loopback server named `fake-cloud-model`, standing in for a cloud model behind the router (no
// model runs: design.md "Testing and benchmarks"). It answers OpenAI chat completions the way
// OpenClaw asks for them (always `stream: true`), from a script keyed on what the request holds,
// and records every request, so a test can assert what left the router (the provider key, never
// the agent's placeholder) and what the agent sent.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  url: string;
  headers: IncomingHttpHeaders;
  body: { model?: string; stream?: boolean; messages?: Array<{ role: string; content: unknown }> };
}

export interface FakeModel {
  url: string;
  seen: SeenRequest[];
  /** The reply for a request (default: "Hello from fake-cloud-model."). */
  reply: (req: SeenRequest) => string;
  /** A scripted tool call for a request, answered instead of `reply` (OpenAI `tool_calls`); null: none. */
  toolCall?: (req: SeenRequest) => { name: string; arguments: Record<string, unknown> } | null;
  close(): Promise<void>;
}

export async function startFakeCloudModel(): Promise<FakeModel> {
  const fake: FakeModel = { url: '', seen: [], reply: () => 'Hello from fake-cloud-model.', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      let body: SeenRequest['body'] = {};
      try {
        body = JSON.parse(raw) as SeenRequest['body'];
      } catch {
        // recorded as empty
      }
      const seen = { url: req.url ?? '', headers: req.headers, body };
      fake.seen.push(seen);
      const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
        `data: ${JSON.stringify({ id: `c${fake.seen.length}`, object: 'chat.completion.chunk', created: 1, model: body.model ?? 'fake-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const call = fake.toolCall?.(seen) ?? null;
      if (call !== null) {
        // One tool call, streamed as OpenAI does: the call in one delta, then finish_reason tool_calls.
        const fn = { name: call.name, arguments: JSON.stringify(call.arguments) };
        res.write(chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: `call_${fake.seen.length}`, type: 'function', function: fn }] }, null));
        res.write(chunk({}, 'tool_calls'));
        res.end('data: [DONE]\n\n');
        return;
      }
      const text = fake.reply(seen);
      // The answer in two pieces, so it arrives as a stream through the router.
      const half = Math.ceil(text.length / 2);
      res.write(chunk({ role: 'assistant', content: text.slice(0, half) }, null));
      res.write(chunk({ content: text.slice(half) }, null));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fake.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return fake;
}

/**
 * The messages of the turn in progress: everything after the last user message the operator wrote
 * (OpenClaw adds internal-context user messages after tool results; the session's history comes
 * before). A script keys on these, e.g. "no tool result yet in this turn": never on the last
 * message's role, which would loop (OpenClaw appends a user message after every tool result).
 */
export function currentTurn(req: SeenRequest): { user: string; after: Array<{ role: string; content: unknown }> } {
  const msgs = req.body.messages ?? [];
  let at = -1;
  msgs.forEach((m, i) => {
    if (m.role === 'user' && !JSON.stringify(m.content).includes('OPENCLAW_INTERNAL_CONTEXT')) at = i;
  });
  return { user: at < 0 ? '' : JSON.stringify(msgs[at]?.content ?? ''), after: msgs.slice(at + 1) };
}

/** The text of the last user message the agent sent (OpenClaw appends a runtime line to it). */
export function lastUserText(req: SeenRequest): string {
  const users = (req.body.messages ?? []).filter((m) => m.role === 'user');
  const c = users.find((m) => typeof m.content === 'string' ? !m.content.includes('OPENCLAW_INTERNAL_CONTEXT') : true)?.content;
  return typeof c === 'string' ? c : JSON.stringify(c ?? '');
}
