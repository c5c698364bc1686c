// One chat turn with the agent inside a sandbox (docs/agents.md "Chat"): the argv run there through
// the supervisor's exec path (never a port opened on the host: design.md invariant 2), and the
// agent's answer read back as events. OpenClaw: `openclaw agent --agent main --message ... --json`
// goes through the gateway the sandbox runs (so plugins and their hooks apply) and keeps one
// session per sandbox (the main agent's, in its persistent state directory).
import { openclaw } from './openclaw.ts';

/** What a turn prints as NDJSON (`nemoclaw NAME chat --json`). */
export type ChatEvent =
  | { type: 'chat.user'; sandbox: string; text: string }
  | { type: 'chat.answer'; sandbox: string; text: string }
  | { type: 'chat.end'; sandbox: string; status: string; ms: number; model: string | null; provider: string | null; session: string | null; assistantTurns: number | null; stopReason: string | null }
  | { type: 'chat.error'; sandbox: string; reason: string }
  /**
   * A tool the agent used in the turn. OpenClaw's --json result names the tools only (its
   * meta.toolSummary: names, calls, failures), so arguments and result are null there; a tool
   * call the operator was asked about carries its arguments (inert, truncated) and who decided.
   */
  | { type: 'chat.tool'; sandbox: string; name: string; calls: number; arguments: string | null; result: string | null; approvedBy: string | null }
  /** Something the sandbox's policy or operator decided during the turn (an ask, an answer, a denial), inline by time. */
  | { type: 'chat.notice'; sandbox: string; kind: 'asked' | 'approved' | 'denied'; text: string };

/** Longest turn the agent is given (seconds); the caller's own bound is a little longer. */
export const TURN_TIMEOUT_S = 120;

export function chatArgv(agent: string, message: string, timeoutS = TURN_TIMEOUT_S): string[] {
  if (agent !== 'openclaw') throw new Error(`no chat adapter for ${agent}`);
  return ['openclaw', 'agent', '--agent', 'main', '--message', message, '--json', '--timeout', String(timeoutS)];
}

/** The environment a turn's command gets on top of the sandbox's (the adapter's chatEnv: why there). */
export function chatEnv(agent: string): Record<string, string> {
  if (agent !== 'openclaw') throw new Error(`no chat adapter for ${agent}`);
  return { ...openclaw.chatEnv };
}

interface OpenClawTurn {
  status?: string;
  summary?: string;
  result?: {
    payloads?: Array<{ text?: string | null }>;
    meta?: {
      durationMs?: number;
      toolSummary?: { calls?: number; tools?: string[]; failures?: number };
      stopReason?: string;
      agentMeta?: { sessionId?: string; provider?: string; model?: string; assistantTurns?: number };
    };
  };
}

/** The agent's --json output to events; a turn that printed no JSON is one chat.error with its stderr's last line. */
export function parseTurn(agent: string, sandbox: string, stdout: string, stderr: string, exitCode: number, ms: number): ChatEvent[] {
  if (agent !== 'openclaw') throw new Error(`no chat adapter for ${agent}`);
  const start = stdout.indexOf('{');
  let t: OpenClawTurn | null;
  try {
    t = start >= 0 ? (JSON.parse(stdout.slice(start)) as OpenClawTurn) : null;
  } catch {
    t = null;
  }
  if (t === null) {
    const last = `${stderr}\n${stdout}`.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
    return [{ type: 'chat.error', sandbox, reason: `the agent answered nothing (exit ${exitCode})${last ? `: ${last.slice(0, 300)}` : ''}` }];
  }
  const out: ChatEvent[] = [];
  const m = t.result?.meta;
  const tools = m?.toolSummary?.tools;
  if (Array.isArray(tools)) {
    // Before the answer (the tools ran first). Calls per tool are not in the summary: the total
    // goes to a lone tool, 1 to each of several.
    for (const name of tools.slice(0, 32)) if (typeof name === 'string') out.push({ type: 'chat.tool', sandbox, name: name.slice(0, 128), calls: tools.length === 1 ? (m?.toolSummary?.calls ?? 1) : 1, arguments: null, result: null, approvedBy: null });
  }
  for (const p of t.result?.payloads ?? []) if (typeof p.text === 'string' && p.text !== '') out.push({ type: 'chat.answer', sandbox, text: p.text });
  out.push({
    type: 'chat.end',
    sandbox,
    status: t.status ?? (exitCode === 0 ? 'ok' : 'error'),
    ms,
    model: m?.agentMeta?.model ?? null,
    provider: m?.agentMeta?.provider ?? null,
    session: m?.agentMeta?.sessionId ?? null,
    assistantTurns: m?.agentMeta?.assistantTurns ?? null,
    stopReason: m?.stopReason ?? null,
  });
  return out;
}
