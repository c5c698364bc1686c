// The decision for one connection or request: policy first (on the canonical name), the operator
// when the policy says ask, a second look when the rules changed while it waited, and only then
// DNS and the SSRF guard on the addresses it returns. The address that passes is the one dialled.

import { HOST_INTERNAL, decideEgress } from '../policy/index.ts';
import type { EgressDecision, EgressRequest, EgressRuleSet } from '../policy/index.ts';
import type { ApprovalQueue } from '../approvals/index.ts';
import { checkAddress } from './address.ts';
import { Refusal, baseEvent } from './context.ts';
import type { ProxyContext, Req, Tracked } from './context.ts';
import { refuseReplacedBinary } from './identity.ts';
import { denial } from './refusal.ts';
import { revalidate } from './revalidate.ts';
import type { Target } from './target.ts';

export interface Authorized {
  d: EgressDecision;
  approvedOnce: boolean;
  /** The rule set the decision was made on: a reload while waiting is caught by comparing. */
  decidedOn: EgressRuleSet;
}

const scopeOf = (req: Req): 'request' | 'connection' => (req.method ? 'request' : 'connection');

/** Why an ask ended without an allow, in the operator's words. */
function askFailure(r: Awaited<ReturnType<ApprovalQueue['request']>>): string {
  if (r.reason === 'timeout') return 'no operator decision before the approval timeout';
  if (r.reason === 'closed') return 'the approval queue was closed';
  if (r.reason === 'overflow') return 'too many pending approvals for this sandbox';
  return `denied by ${r.by.user} (${r.by.origin})`;
}

/**
 * The addresses a request let through without a matching rule (an operator's approval, or
 * learning mode's audit) may reach: only those the endpoints already matching this host, port and
 * binary grant (an L7 miss on an allowed host), never more (docs/design.md invariant 3).
 */
function grantedAddresses(rules: EgressRuleSet, target: Target, binary: string | null): string[] {
  const conn = decideEgress(rules, { host: target.host, port: target.port, binary });
  return conn.verdict === 'allow' ? conn.allowedIps : [];
}

/** Runs the decision (and the approval queue for `ask`); throws the Refusal on deny. */
export async function authorize(ctx: ProxyContext, t: Tracked, target: Target, req: Req): Promise<Authorized> {
  const decidedOn = ctx.rules();
  refuseReplacedBinary(ctx, t, target, req);
  const er: EgressRequest = { host: target.host, port: target.port, binary: t.binary };
  if (req.method !== undefined) {
    er.method = req.method;
    er.path = req.path ?? '/';
    er.query = req.query ?? '';
  }
  const d = decideEgress(decidedOn, er);
  const scope = scopeOf(req);
  if (d.verdict === 'allow' || d.verdict === 'audit') {
    ctx.emit({ type: d.verdict === 'allow' ? 'egress_allowed' : 'egress_audit', ...baseEvent(t, target, req), verdict: d.verdict, rule: d.rule, reason: d.reason, scope });
    if (d.verdict === 'audit' && d.allowedIps.length === 0 && req.method !== undefined) {
      // Unmatched egress in learning mode (`unmatched_egress: audit`) is let through as an
      // approve-once would be: with the allowed_ips of endpoints already matching this host, port
      // and binary (an L7 miss), and never more (docs/design.md invariant 3).
      const granted = grantedAddresses(decidedOn, target, t.binary);
      if (granted.length > 0) return { d: { ...d, allowedIps: granted }, approvedOnce: false, decidedOn };
    }
    return { d, approvedOnce: false, decidedOn };
  }
  const approvals = ctx.opts.approvals;
  if (d.verdict === 'ask' && approvals) {
    ctx.emit({ type: 'egress_ask', ...baseEvent(t, target, req), verdict: 'ask', rule: d.rule, reason: d.reason, scope });
    const ask: Parameters<ApprovalQueue['request']>[0] = { sandbox: ctx.sandbox, kind: 'egress', binary: t.binary, host: target.host, port: target.port, timeoutMs: decidedOn.approvalTimeoutMs };
    if (req.method !== undefined) {
      ask.method = req.method;
      ask.path = req.path ?? '/';
    }
    const r = await approvals.request(ask);
    const approval = { id: r.id, by: r.by, always: r.always, reason: r.reason };
    if (r.verdict === 'allow') {
      ctx.emit({ type: 'egress_allowed', ...baseEvent(t, target, req), verdict: 'allow', rule: null, reason: `approved by ${r.by.user} (${r.by.origin})`, scope, approval });
      // An approval never widens the SSRF guard: only allowed_ips of endpoints that already
      // match this host, port and binary (an L7 ask) apply.
      const allowedIps = grantedAddresses(ctx.rules(), target, t.binary);
      return { d: { verdict: 'allow', inspect: false, rule: null, reason: 'approved by operator', allowedIps }, approvedOnce: true, decidedOn };
    }
    const reason = askFailure(r);
    ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: d.rule, reason, scope, approval });
    throw denial(ctx, t, target, { rule: d.rule, reason }, req);
  }
  const reason = d.verdict === 'ask' ? `${d.reason} (no approval queue attached: denied)` : d.reason;
  ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: d.rule, reason, scope });
  throw denial(ctx, t, target, { rule: d.rule, reason }, req);
}

/**
 * A reload that landed while this connection waited (on the operator or on DNS) is not missed:
 * the connection is decided again on the new rules, without a new ask, before anything is dialled.
 */
export function decisionAfterWait(ctx: ProxyContext, t: Tracked, target: Target, req: Req, auth: Authorized, address: string): EgressDecision {
  const rules = ctx.rules();
  if (auth.approvedOnce || auth.decidedOn === rules) return auth.d;
  const request = req.method === undefined ? null : { method: req.method, path: req.path ?? '/', query: req.query ?? '' };
  const r = revalidate(rules, { host: target.host, port: target.port, binary: t.binary, address, relay: false, request });
  if (r.keep) return r.decision;
  const reason = `the policy changed while this connection waited: ${r.reason}`;
  ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: r.decision.rule, reason, scope: scopeOf(req) });
  throw denial(ctx, t, target, { rule: r.decision.rule, reason }, req);
}

/** Resolves (after the decision) and applies the SSRF guard; returns the address to dial. */
export async function resolveChecked(ctx: ProxyContext, t: Tracked, target: Target, allowedIps: readonly string[], req: Req = {}): Promise<{ address: string; family: 4 | 6 }> {
  let candidates: string[];
  // host.nemoclaw.internal is the host's own loopback (src/policy HOST_INTERNAL): never looked up;
  // the guard below still dials it only if the decision's grants include it (an exact rule).
  if (target.kind === 'dns' && target.host === HOST_INTERNAL) candidates = ['127.0.0.1'];
  else if (target.kind === 'dns') {
    try {
      candidates = await ctx.resolver(target.host);
    } catch (err) {
      const reason = `DNS lookup of ${target.host} failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      ctx.emit({ type: 'egress_error', ...baseEvent(t, target, req), verdict: null, rule: null, reason });
      throw new Refusal(502, { error: 'dns_failed', host: target.host, port: target.port, reason });
    }
  } else candidates = [target.host];
  const refused: string[] = [];
  for (const c of candidates) {
    const check = checkAddress(c, allowedIps);
    if (check.ok) return { address: check.address, family: check.family };
    refused.push(`${check.address} (${check.cls})`);
  }
  const reason = candidates.length === 0 ? `${target.host} resolved to no address` : `${target.host} resolves only to refused addresses: ${refused.join(', ')}; list them in the endpoint's allowed_ips to permit`;
  ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: null, reason, scope: scopeOf(req) });
  throw denial(ctx, t, target, { rule: null, reason }, req, {
    missing: `allowed_ips covering ${refused.join(', ') || 'an address'} on the endpoint for ${target.host}:${target.port}`,
    hint: `add allowed_ips: [<address>] to the endpoint ${target.host}:${target.port} (only if this internal address is intended)`,
  });
}
