// Learning mode: from the events of a run (typically in audit mode), propose the smallest policy
// that would have allowed what happened. Starting from a base policy, only what the base did not
// already allow is added; hosts are always exact (never a wildcard broader than what was seen),
// binaries are the exact programs seen, REST rules are the exact method+path pairs seen (up to a
// limit, beyond which the narrowest access preset covering the methods is used, and said so).
// What the product recorded as denied (a deny rule, an operator's "deny", the address guard) is
// never proposed: learning widens only what was let through (allowed, or audited in learning mode).
// A learned endpoint reaches the addresses the base already grants that host, port and program
// (its allowed_ips), never more: learning must not widen the address guard (docs/design.md,
// invariant 3), and two endpoints for one destination with different allowed_ips do not validate.
import { Document, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { compileSandboxSpec, decideExec, defaultPolicy } from './compile.ts';
import { ACCESS_METHODS, compileEgressRules, decideEgress, normalizeRequestPath } from './egress.ts';
import type { Endpoint, NetworkPolicy, Policy } from './schema.ts';
import { endpointGrants } from './grants.ts';
import { parsePolicy } from './load.ts';
import { parseTraceLine, traceLines } from './trace.ts';

const MAX_EXACT_RULES = 16;

export interface LearnedRule {
  name: string;
  host: string;
  port: number;
  hits: number;
  /** Programs seen, with their hit counts; `null` stands for an unknown program. */
  binaries: { path: string | null; hits: number }[];
  /** How requests are limited: `connection` (no request seen), `exact` rules or an access preset. */
  shape: 'connection' | 'exact' | 'read-only' | 'read-write' | 'full';
}

export interface LearnResult {
  policy: Policy;
  /** The policy as YAML with a comment on each learned rule (hits and programs). */
  yaml: string;
  rules: LearnedRule[];
  exec: { path: string; hits: number }[];
  /** Events already allowed by the base policy. */
  alreadyAllowed: number;
  /** Trace lines that could not be read, with the reason. */
  skipped: { line: number; error: string }[];
  /** Decisions read (egress and exec events, recorded or hand-written) for the sandbox asked about. */
  read: number;
  /** Recorded denials, which are never proposed. */
  denied: number;
  /** Exec paths seen but not proposed because `execExists` said there is no such program. */
  execNotFound: string[];
}

export interface LearnOptions {
  /** The base policy's own text: the proposal then keeps its comments and key order. */
  baseText?: string;
  /** Only events recorded for this sandbox (events that name none are kept). */
  sandbox?: string;
  /** `approvals.unmatched_egress` of the proposal (default: the base's), e.g. `deny` to enforce what
   *  was learned; also `exec.unmatched` when exec has an allowlist (`audit` is exec's `allow`). */
  unmatched?: 'ask' | 'deny' | 'audit';
  /**
   * Whether an exec path names a program (the caller's I/O, e.g. existsSync). `execvp` tries
   * execve in every PATH directory until one works, and each try is an exec the helper reports;
   * paths that name nothing are not proposed but listed in `execNotFound`.
   */
  execExists?: (path: string) => boolean;
}

/** Escapes glob characters so a seen path matches only itself. */
function literal(path: string): string {
  return path.replace(/[*?[\]\\]/g, '\\$&');
}

function ruleName(host: string, port: number, taken: Set<string>): string {
  const base = `learned_${host.replace(/[^A-Za-z0-9]+/g, '_')}_${port}`.slice(0, 60);
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

interface Group {
  host: string;
  port: number;
  hits: number;
  binaries: Map<string | null, number>;
  requests: Map<string, { method: string; path: string }>;
  connectOnly: number;
}

export function learn(events: string | readonly string[], base: Policy = defaultPolicy(), opts: LearnOptions = {}): LearnResult {
  const lines = typeof events === 'string' ? traceLines(events) : traceLines(events.join('\n'));
  const rules = compileEgressRules(base);
  const compiled = compileSandboxSpec(base);
  // "Already allowed" means in the allowlist: under `unmatched: allow` (exec's learning mode) an
  // exec outside it was let through, and is exactly what should be proposed.
  const spec = { ...compiled, exec: { ...compiled.exec, unmatched: 'deny' as const } };
  const groups = new Map<string, Group>();
  const execs = new Map<string, number>();
  const skipped: { line: number; error: string }[] = [];
  let alreadyAllowed = 0;
  let read = 0;
  let denied = 0;

  for (const { line, text } of lines) {
    const parsed = parseTraceLine(text);
    if (!parsed.ok && parsed.ignore) continue;
    if (!parsed.ok) {
      skipped.push({ line, error: parsed.error });
      continue;
    }
    const e = parsed.event;
    if (opts.sandbox !== undefined && e.sandbox !== undefined && e.sandbox !== opts.sandbox) continue;
    read++;
    if (e.outcome === 'deny') {
      denied++;
      continue;
    }
    if (e.type === 'exec') {
      if (decideExec(spec, e.path) === 'allow') alreadyAllowed++;
      else execs.set(e.path, (execs.get(e.path) ?? 0) + 1);
      continue;
    }
    if (decideEgress(rules, e).verdict === 'allow') {
      alreadyAllowed++;
      continue;
    }
    const key = `${e.host}:${e.port}`;
    let g = groups.get(key);
    if (!g) {
      g = { host: e.host, port: e.port, hits: 0, binaries: new Map(), requests: new Map(), connectOnly: 0 };
      groups.set(key, g);
    }
    g.hits++;
    g.binaries.set(e.binary, (g.binaries.get(e.binary) ?? 0) + 1);
    if (e.method === undefined) g.connectOnly++;
    else {
      const path = normalizeRequestPath(e.path ?? '/', false) ?? (e.path ?? '/');
      g.requests.set(`${e.method} ${path}`, { method: e.method, path });
    }
  }

  let policy: Policy = structuredClone(base);
  const network: Record<string, NetworkPolicy> = { ...(policy.network_policies ?? {}) };
  const taken = new Set(Object.keys(network));
  const learned: LearnedRule[] = [];
  for (const g of [...groups.values()].sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port)) {
    const endpoint: Endpoint = { host: g.host, port: g.port };
    let shape: LearnedRule['shape'] = 'connection';
    if (g.requests.size > 0) {
      endpoint.protocol = 'rest';
      const reqs = [...g.requests.values()].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
      if (reqs.length <= MAX_EXACT_RULES) {
        shape = 'exact';
        endpoint.rules = reqs.map((r) => ({ allow: { method: r.method, path: literal(r.path) } }));
      } else {
        const methods = new Set(reqs.map((r) => r.method));
        const fits = (name: 'read-only' | 'read-write') => [...methods].every((m) => (ACCESS_METHODS[name] as ReadonlySet<string>).has(m));
        shape = fits('read-only') ? 'read-only' : fits('read-write') ? 'read-write' : 'full';
        endpoint.access = shape;
      }
    }
    const name = ruleName(g.host, g.port, taken);
    const bins = [...g.binaries.entries()].sort((a, b) => b[1] - a[1]);
    const ips = grantedIps(rules, g.host, g.port, bins.map(([p]) => p));
    // What the host's name grants by itself (host.nemoclaw.internal: the host's loopback) is not
    // written out again; anything else the base granted is copied, and nothing more.
    const implicit = endpointGrants({ host: g.host });
    if (ips.length > 0 && !sameAddresses(ips, implicit)) endpoint.allowed_ips = ips;
    // An unknown program can only be allowed by a rule without binaries.
    const anyProgram = g.binaries.has(null);
    network[name] = { endpoints: [endpoint], ...(anyProgram ? {} : { binaries: bins.map(([p]) => ({ path: literal(p as string) })) }) };
    learned.push({ name, host: g.host, port: g.port, hits: g.hits, binaries: bins.map(([path, hits]) => ({ path, hits })), shape });
  }
  if (Object.keys(network).length > 0) policy.network_policies = network;
  const exists = opts.execExists ?? (() => true);
  const seenExecs = [...execs.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([path, hits]) => ({ path, hits }));
  const execList = seenExecs.filter((x) => exists(x.path));
  const execNotFound = seenExecs.filter((x) => !exists(x.path)).map((x) => x.path);
  if (execList.length > 0) {
    policy.exec = { allow: [...(policy.exec?.allow ?? []), ...execList.map((x) => literal(x.path))], unmatched: policy.exec?.unmatched ?? 'ask' };
  }
  if (opts.unmatched !== undefined) policy.approvals = { ...(policy.approvals ?? {}), unmatched_egress: opts.unmatched };
  // The same verdict for execs outside a (non-empty) allowlist: exec's learning mode is `allow`.
  const execUnmatched = opts.unmatched === undefined ? undefined : opts.unmatched === 'audit' ? 'allow' : opts.unmatched;
  if (execUnmatched !== undefined && policy.exec !== undefined && (policy.exec.allow ?? []).length > 0) policy.exec = { ...policy.exec, unmatched: execUnmatched };

  const doc = opts.baseText === undefined ? new Document(policy) : editedBase(opts.baseText, policy, learned, execList, opts.unmatched);
  const np = doc.getIn(['network_policies']);
  if (isMap(np)) {
    for (const pair of np.items) {
      const key = pair.key;
      const rule = learned.find((r) => isScalar(key) && r.name === key.value);
      if (!rule || !isScalar(key)) continue;
      const who = rule.binaries.map((b) => `${b.path ?? 'unknown program'} (${b.hits})`).join(', ');
      const how = rule.shape === 'exact' ? 'exact requests seen' : rule.shape === 'connection' ? 'connections only, no request inspected' : `more than ${MAX_EXACT_RULES} distinct requests: ${rule.shape} access covers the methods seen`;
      key.commentBefore = ` learned: ${rule.hits} hit${rule.hits === 1 ? '' : 's'}; ${how}; by ${who}${rule.binaries.some((b) => b.path === null) ? ' — an unknown program was seen, so no binaries restriction' : ''}`;
    }
  }
  if (execList.length > 0) {
    const note = ` learned exec: ${execList.map((x) => `${x.path} (${x.hits})`).join(', ')}`;
    doc.commentBefore = doc.commentBefore ? `${doc.commentBefore}\n${note}` : note;
  }
  const yaml = doc.toString({ lineWidth: 0 });
  // The base text's own document was edited: read the result back, which also validates it.
  if (opts.baseText !== undefined) policy = parsePolicy(yaml, 'learned policy');
  return { policy, yaml, rules: learned, exec: execList, alreadyAllowed, skipped, read, denied, execNotFound };
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * The allowed_ips the base already grants `host:port` for one of the programs seen (what the
 * proxy would check the address against if the base allowed the connection); none when it grants
 * nothing there. Copied so the learned endpoint reaches the same addresses and no others.
 */
function grantedIps(rules: ReturnType<typeof compileEgressRules>, host: string, port: number, binaries: readonly (string | null)[]): string[] {
  for (const binary of binaries) {
    const d = decideEgress(rules, { host, port, binary });
    if (d.verdict === 'allow' && d.allowedIps.length > 0) return [...d.allowedIps];
  }
  return [];
}

/** The base text with the learned entries added, keeping its comments and key order (as `policy add` does). */
function editedBase(text: string, policy: Policy, learned: readonly LearnedRule[], execList: readonly { path: string }[], unmatched: LearnOptions['unmatched']): Document.Parsed {
  const doc = parseDocument(text);
  for (const r of learned) {
    if (!doc.has('network_policies') || doc.get('network_policies') === null) doc.set('network_policies', doc.createNode({}));
    doc.setIn(['network_policies', r.name], doc.createNode(policy.network_policies?.[r.name], { flow: false }));
  }
  if (execList.length > 0) {
    const allow = doc.getIn(['exec', 'allow']);
    if (isSeq(allow) && allow.items.length > 0) for (const x of execList) doc.addIn(['exec', 'allow'], doc.createNode(literal(x.path)));
    else doc.setIn(['exec'], doc.createNode(policy.exec, { flow: false }));
  }
  if (unmatched !== undefined) {
    if (!doc.has('approvals') || doc.get('approvals') === null) doc.set('approvals', doc.createNode({}));
    doc.setIn(['approvals', 'unmatched_egress'], unmatched);
    if (policy.exec !== undefined && (policy.exec.allow ?? []).length > 0) doc.setIn(['exec', 'unmatched'], policy.exec.unmatched);
  }
  // Read back, so every key is a node that can carry the learned comment.
  return parseDocument(doc.toString({ lineWidth: 0 }));
}
