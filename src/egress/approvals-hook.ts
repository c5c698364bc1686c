// `approvals.nemoclaw.internal`: the reserved name an agent's plugin asks the operator through
// about a tool call (docs/approvals.md "Tool calls"). Like inference.local it is served by the
// proxy itself: never dialled, never resolved, reachable only through the sandbox's own proxy, so
// the agent needs no extra hole and the sandbox is the one the proxy serves (docs/design.md,
// invariant 2), never one the caller names. One route:
//
//   POST /v1/tool-approvals   {"tool", "params", "sessionKey"?, "sessionId"?, "runId"?, "toolCallId"?, "reason"?}
//     -> 200 {"decision": "allow"|"deny", "reason", "id"?, "by"?}
//
// `tools.deny` and `tools.allow` of the policy in force answer at once; otherwise the call waits
// in the approval queue (kind `tool`) until the operator, the timeout (deny) or shutdown (deny)
// decides. Anything else on this name is refused with a 4xx; the plugin treats every answer but a
// 200 allow as a denial (fail closed).

import { Refusal } from './context.ts';
import type { ProxyContext, Tracked } from './context.ts';
import type { RequestHead } from './http1.ts';
import { headerValue } from './http1.ts';
import { pumpBody } from './body.ts';
import type { StreamReader } from './reader.ts';
import { jsonResponse } from './wire.ts';
import type { Duplex } from 'node:stream';

export const APPROVALS_HOST = 'approvals.nemoclaw.internal';
export const TOOL_APPROVALS_PATH = '/v1/tool-approvals';

/** The most a tool ask's body may hold; the arguments kept for the operator are cut far shorter. */
const BODY_MAX = 256 * 1024;
/** Arguments shown to the operator: JSON text cut to this many characters. */
export const ARGS_SHOWN_MAX = 2000;
const TOOL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;

export interface ToolAskBody {
  tool: string;
  args: string;
  session: string | null;
  reason: string | null;
}

function shortText(v: unknown, max: number): string | null {
  return typeof v === 'string' && v !== '' ? v.slice(0, max) : null;
}

/** Parses a tool ask's JSON body (pure); a string is the one-line reason it is refused. */
export function parseToolAsk(text: string): ToolAskBody | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'body must be a JSON object';
  const o = v as Record<string, unknown>;
  if (typeof o.tool !== 'string' || !TOOL_NAME.test(o.tool)) return '"tool" must be a tool name (letters, digits, `_`, `.`, `:`, `-`; at most 64)';
  let args = JSON.stringify(o.params ?? {}) ?? '{}';
  if (args.length > ARGS_SHOWN_MAX) args = `${args.slice(0, ARGS_SHOWN_MAX)}… (${args.length} characters)`;
  const session = shortText(o.sessionKey, 200) ?? shortText(o.sessionId, 200);
  return { tool: o.tool, args, session, reason: shortText(o.reason, 500) };
}

/** What the policy in force says about a tool without asking: deny wins over allow; null asks. */
export function toolVerdictFromPolicy(tools: { allow: ReadonlySet<string>; deny: ReadonlySet<string> } | undefined, tool: string): 'allow' | 'deny' | null {
  if (tools?.deny.has(tool)) return 'deny';
  if (tools?.allow.has(tool)) return 'allow';
  return null;
}

async function readBody(ctx: ProxyContext, reader: StreamReader, head: RequestHead): Promise<string> {
  if (head.body.kind === 'length' && head.body.length > BODY_MAX) throw new Refusal(413, { error: 'body_too_large', host: APPROVALS_HOST, reason: `a tool ask holds at most ${BODY_MAX} bytes` });
  const parts: Buffer[] = [];
  let size = 0;
  await pumpBody(
    reader,
    head,
    {
      write: (b: Buffer) => {
        size += b.length;
        if (size > BODY_MAX) throw new Refusal(413, { error: 'body_too_large', host: APPROVALS_HOST, reason: `a tool ask holds at most ${BODY_MAX} bytes` });
        parts.push(b);
        return true;
      },
      end: () => undefined,
    },
    ctx.bodyIdleTimeoutMs,
  );
  return Buffer.concat(parts).toString('utf8');
}

/** Serves one approvals.nemoclaw.internal request; returns whether the connection stays open. */
export async function serveToolApproval(ctx: ProxyContext, t: Tracked, stream: Duplex, reader: StreamReader, head: RequestHead, path: string, port: number): Promise<boolean> {
  if (port !== 80) throw new Refusal(400, { error: 'bad_request', host: APPROVALS_HOST, reason: `use plain http://${APPROVALS_HOST}/ (port 80, no TLS: the proxy answers it)` });
  if (path !== TOOL_APPROVALS_PATH) throw new Refusal(404, { error: 'not_found', host: APPROVALS_HOST, reason: `${APPROVALS_HOST} serves only POST ${TOOL_APPROVALS_PATH}` });
  if (head.method !== 'POST') throw new Refusal(405, { error: 'method_not_allowed', host: APPROVALS_HOST, reason: `${APPROVALS_HOST} serves only POST ${TOOL_APPROVALS_PATH}` });
  const type = headerValue(head.headers, 'content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new Refusal(415, { error: 'unsupported_media_type', host: APPROVALS_HOST, reason: 'a tool ask is application/json' });
  const ask = parseToolAsk(await readBody(ctx, reader, head));
  if (typeof ask === 'string') throw new Refusal(400, { error: 'bad_request', host: APPROVALS_HOST, reason: ask });
  const answer = (status: number, body: Record<string, unknown>): boolean => {
    stream.write(jsonResponse(status, body, head.keepAlive));
    return head.keepAlive;
  };
  const rules = ctx.rules();
  const fromPolicy = toolVerdictFromPolicy(rules.tools, ask.tool);
  if (fromPolicy !== null) return answer(200, { decision: fromPolicy, reason: `the policy's tools.${fromPolicy} lists ${ask.tool}` });
  const approvals = ctx.opts.approvals;
  if (!approvals) return answer(200, { decision: 'deny', reason: 'no approval queue is attached to this sandbox: tool calls that ask are denied' });
  // The plugin gives up when its tool call is cancelled (or its own wait ends): the connection
  // closes, and the ask is withdrawn rather than left for an operator to answer in vain.
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  stream.once('close', onClose);
  const r = await approvals
    .request({ sandbox: ctx.sandbox, kind: 'tool', binary: t.binary, tool: { name: ask.tool, args: ask.args, session: ask.session, reason: ask.reason }, timeoutMs: rules.approvalTimeoutMs }, { signal: gone.signal })
    .finally(() => stream.off('close', onClose));
  if (r.reason === 'withdrawn') return false;
  const why =
    r.reason === 'timeout' ? 'no operator decision before the approval timeout'
    : r.reason === 'closed' ? 'the approval queue was closed'
    : r.reason === 'overflow' ? 'too many pending approvals for this sandbox'
    : `${r.verdict === 'allow' ? 'allowed' : 'denied'} by ${r.by.user} (${r.by.origin})${r.always ? ' always' : ''}`;
  return answer(200, { decision: r.verdict, reason: why, id: r.id, by: r.by });
}
