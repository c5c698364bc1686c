// `sandbox run` with network rules (issue 13, part 2): the same per-sandbox egress proxy the
// supervisor starts (src/egress, in this process, its own CA), so a one-shot run of a network
// policy works as the policy says. Started only when the policy has network rules or approvals:
// a plain `sandbox run -- true` loads none of this. Asks (`approvals.unmatched_egress: ask`) go to
// the operator's terminal like exec asks; without one they are denied. "Always" rewrites the
// policy file (a new revision of it) only with `--save-approvals`; otherwise it allows for this
// run. docs/design.md invariant 2 (one way out) and 3 (decide on names) hold as for supervised
// sandboxes: this is the same proxy.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { ApprovalItem } from '../approvals/index.ts';
import type { AuditSink, EgressProxy } from '../egress/index.ts';
import type { Endpoint, NetworkPolicy, Policy } from '../policy/index.ts';
import type * as PolicyIndex from '../policy/index.ts';

type PolicyModule = typeof PolicyIndex;
import { ensurePrivateDirs, homePaths, nemoclawHome, writeFileAtomic } from '../state/index.ts';

export interface RunEgress {
  proxySocket: string;
  /** The proxy's trust bundle: bound read-only into the sandbox (certificates only). */
  caBundlePath: string;
  /** SSL_CERT_FILE and friends for the workload. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Whether a policy needs a proxy: any network rule, or an approvals section that can ask or audit. */
export function needsEgressProxy(policy: Policy): boolean {
  const rules = Object.keys(policy.network_policies ?? {}).length > 0;
  const asks = policy.approvals?.unmatched_egress !== undefined && policy.approvals.unmatched_egress !== 'deny';
  return rules || asks;
}

export type EgressAnswer = 'allow' | 'deny' | 'always';

function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown'); // no passwd entry
  }
}

export interface RunEgressOptions {
  policy: Policy;
  /** The policy file (for --save-approvals); null for a blueprint. */
  policyFile: string | null;
  sandboxId: string;
  /** Puts one question to the operator; null when there is no terminal (every ask is denied). */
  ask: ((question: string) => Promise<EgressAnswer>) | null;
  saveApprovals: boolean;
  audit: AuditSink;
  /** nemoclaw's own lines (a saved rule, a failure to save). */
  report: (line: string) => void;
}

/** The question for an egress ask; every workload-controlled part is shown inert by the caller. */
export function egressQuestion(item: Pick<ApprovalItem, 'host' | 'port' | 'binary' | 'method' | 'path'>, inert: (s: string) => string): string {
  const what = item.method !== null ? `${inert(item.method)} ${inert(item.host ?? '?')}:${item.port ?? '?'}${inert(item.path ?? '/')}` : `connect to ${inert(item.host ?? '?')}:${item.port ?? '?'}`;
  return `nemoclaw: allow ${what} from ${inert(item.binary ?? 'an unknown program')}? [y/N/a(lways)] `;
}

export async function startRunEgress(opts: RunEgressOptions, inert: (s: string) => string): Promise<RunEgress> {
  const [{ startEgressProxy, policyFileRule }, { ApprovalQueue, alwaysRefusal }, policyMod] = await Promise.all([
    import('../egress/index.ts'),
    import('../approvals/index.ts'),
    import('../policy/index.ts'),
  ]);
  let policy = opts.policy;
  const paths = homePaths(nemoclawHome());
  ensurePrivateDirs(paths.run, paths.sockets);
  // Per run, like a supervised sandbox's `<id>.p` and `<id>.ca`; removed when the run ends.
  const dir = mkdtempSync(join(paths.sockets, 'r-'));
  const timeoutMs = 60_000;
  const queue = new ApprovalQueue({ timeoutMs });
  let proxy: EgressProxy | null = null;

  if (opts.saveApprovals && opts.policyFile !== null) {
    const file = opts.policyFile;
    queue.setPersistHook(async (item, decision) => {
      const refused = alwaysRefusal(item, decision.verdict);
      if (refused !== null) throw new Error(refused);
      const { text, next } = withAlwaysRule(readFileSync(file, 'utf8'), item, decision.verdict, policyMod, file);
      writeFileAtomic(file, text, statSync(file).mode & 0o777);
      policy = next;
      proxy?.reload(policyMod.compileEgressRules(policy));
      opts.report(`saved to ${file}: ${decision.verdict} ${item.host}:${item.port}${item.binary ? ` for ${item.binary}` : ''}`);
    });
  }

  // One question at a time, in arrival order (the asker serialises); no terminal: deny at once.
  queue.on('added', (item) => {
    const by = { user: operatorName(), origin: opts.ask ? 'tty' : 'no-terminal' };
    const answer = opts.ask ? opts.ask(egressQuestion(item, inert)).catch(() => 'deny' as const) : Promise.resolve('deny' as const);
    void answer.then(async (a) => {
      const always = a === 'always' && opts.saveApprovals && opts.policyFile !== null;
      const verdict = a === 'deny' ? 'deny' : 'allow';
      try {
        const res = await queue.decide(item.id, { verdict, always, by });
        if (res?.persistError) opts.report(`not saved: ${res.persistError}`);
      } catch (err) {
        // "always" refused (unknown program): this run still gets the answer, once.
        opts.report(`${(err as Error).message}`);
        await queue.decide(item.id, { verdict, always: false, by }).catch(() => null);
      }
    });
  });

  proxy = await startEgressProxy({
    socketPath: join(dir, 'p'),
    caDir: join(dir, 'ca'),
    sandboxId: opts.sandboxId,
    rules: policyMod.compileEgressRules(policy),
    approvals: queue,
    audit: opts.audit,
    // A one-shot run has no supervisor store for `policy add` to edit: name the policy file.
    ruleHint: (rule) => policyFileRule(opts.policyFile, rule),
  });
  const running = proxy;
  return {
    proxySocket: running.socketPath,
    caBundlePath: running.caBundlePath,
    env: running.caEnv,
    async close() {
      queue.close(); // pending asks fail closed
      await running.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The policy text with the narrowest rule for an "always" answer merged in as a new
 * network_policies entry (comments and layout of the rest kept), and the policy it parses to.
 * The same rule src/policy's PolicyStore.addAlwaysRule writes for a supervised sandbox:
 * connection-level allow {host, port} for the binary, deny with `action: deny`; request-level
 * allow or deny of exactly that method and (literal) path on a rest endpoint.
 */
function withAlwaysRule(text: string, item: ApprovalItem, verdict: 'allow' | 'deny', m: PolicyModule, file: string): { text: string; next: Policy } {
  const host = { host: item.host as string, port: item.port as number };
  const cur = m.parsePolicy(text, file);
  let request: { method: string; path: string } | null = null;
  if (item.method !== null) {
    const path = m.normalizeRequestPath(item.path ?? '/', false);
    if (path === null || !/^[A-Z]+(?:_[A-Z]+)*$/.test(item.method)) throw new Error(`${item.method} ${item.path ?? '/'} cannot be written as a policy rule`);
    request = { method: item.method, path };
  }
  let endpoint: Endpoint;
  if (request === null) endpoint = host;
  else if (verdict === 'deny') endpoint = { ...host, protocol: 'rest', rules: [], deny_rules: [{ method: request.method, path: m.globEscape(request.path) }] };
  else {
    const conn = m.decideEgress(m.compileEgressRules(cur), { host: host.host, port: host.port, binary: item.binary });
    const ips = conn.verdict === 'allow' ? conn.allowedIps : [];
    endpoint = { ...host, protocol: 'rest', rules: [{ allow: { method: request.method, path: m.globEscape(request.path) } }], ...(ips.length > 0 ? { allowed_ips: [...ips] } : {}) };
  }
  const entry: NetworkPolicy = {
    ...(verdict === 'deny' && request === null ? { action: 'deny' as const } : {}),
    endpoints: [endpoint],
    ...(item.binary !== null ? { binaries: [{ path: m.globEscape(item.binary) }] } : {}),
  };
  const name = m.alwaysRuleName({ verdict, host: host.host, port: host.port, binary: item.binary, ...(request ? { request } : {}) });
  const res = m.mergeNetworkPolicies(text, file, { [name]: entry });
  return { text: res.text, next: m.parsePolicy(res.text, file) };
}
