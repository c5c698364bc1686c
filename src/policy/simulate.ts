// Dry run: recorded egress and exec events evaluated against a policy, without running anything,
// so a policy change can be tested in CI before it is deployed.
import { checkAddress } from './address.ts';
import { compileSandboxSpec, decideExec } from './compile.ts';
import { compileEgressRules, decideEgress } from './egress.ts';
import type { Policy } from './schema.ts';
import { describeEvent, parseTraceLine, traceLines } from './trace.ts';
import type { TraceEvent } from './trace.ts';
import type { EgressDecision } from './types.ts';

export type Outcome = 'ALLOWED' | 'BLOCKED' | 'ASK' | 'AUDIT' | 'ERROR';

export interface SimulationResult {
  /** 1-based line in the trace. */
  line: number;
  outcome: Outcome;
  event: TraceEvent | null;
  /** What happened, e.g. `egress api.github.com:443 POST /user by /usr/bin/gh`. */
  summary: string;
  rule: string | null;
  reason: string;
  /** Connection-level egress whose requests are decided one by one. */
  inspect?: boolean;
}

export interface Simulation {
  results: SimulationResult[];
  counts: Record<Outcome, number>;
  /** Well-formed lines that are not egress/exec decisions (other event types). */
  ignored: number;
}

const OUTCOME: Record<EgressDecision['verdict'], Outcome> = { allow: 'ALLOWED', deny: 'BLOCKED', ask: 'ASK', audit: 'AUDIT' };
const EXEC_OUTCOME: Record<'allow' | 'ask' | 'deny', Outcome> = { allow: 'ALLOWED', deny: 'BLOCKED', ask: 'ASK' };

/** `trace` is the whole file text or its lines. */
export function simulate(policy: Policy, trace: string | readonly string[]): Simulation {
  const lines = typeof trace === 'string' ? traceLines(trace) : traceLines(trace.join('\n'));
  const rules = compileEgressRules(policy);
  const spec = compileSandboxSpec(policy);
  const results: SimulationResult[] = [];
  let ignored = 0;
  for (const { line, text } of lines) {
    const parsed = parseTraceLine(text);
    if (!parsed.ok && parsed.ignore) {
      ignored++;
      continue;
    }
    if (!parsed.ok) {
      results.push({ line, outcome: 'ERROR', event: null, summary: text.slice(0, 120), rule: null, reason: parsed.error });
      continue;
    }
    const e = parsed.event;
    if (e.type === 'exec') {
      const v = decideExec(spec, e.path);
      const reason = spec.exec.allow.length === 0 ? 'exec is limited only by Landlock' : v === 'allow' ? 'matches exec.allow' : `not in exec.allow; unmatched exec is ${spec.exec.unmatched}`;
      results.push({ line, outcome: EXEC_OUTCOME[v], event: e, summary: describeEvent(e), rule: v === 'allow' && spec.exec.allow.length > 0 ? 'exec.allow' : null, reason });
      continue;
    }
    const d = decideEgress(rules, e);
    // Then what the proxy does before it dials: the address guard on the resolved address (a
    // literal loopback or metadata host is refused there, whatever the rule said).
    const guard = (d.verdict === 'allow' || d.verdict === 'audit') && e.address !== undefined ? checkAddress(e.address, d.allowedIps) : null;
    if (guard && !guard.ok) {
      results.push({ line, outcome: 'BLOCKED', event: e, summary: describeEvent(e), rule: d.rule, reason: `address guard: ${guard.reason ?? guard.address}` });
      continue;
    }
    results.push({ line, outcome: OUTCOME[d.verdict], event: e, summary: describeEvent(e), rule: d.rule, reason: d.reason, ...(d.inspect ? { inspect: true } : {}) });
  }
  const counts: Record<Outcome, number> = { ALLOWED: 0, BLOCKED: 0, ASK: 0, AUDIT: 0, ERROR: 0 };
  for (const r of results) counts[r.outcome]++;
  return { results, counts, ignored };
}
