// runSandbox against a FAKE helper (test/sandbox/fixtures/fake-helper-script.sh) for protocol edge
// cases the real helper never produces; the real helper is exercised in test/sandbox/.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../policy/index.ts';
import type { SandboxEvent } from './run.ts';
import { runSandbox } from './run.ts';

const fake = fileURLToPath(new URL('../../test/sandbox/fixtures/fake-helper-script.sh', import.meta.url));

const spec: SandboxSpec = {
  filesystem: { readOnly: ['/usr'], readWrite: ['/tmp'], includeWorkdir: true },
  landlock: 'hard_requirement',
  runAsUser: 'sandbox',
  limits: {},
  exec: { allow: ['/usr/bin/*'], unmatched: 'ask' },
  syscalls: { deny: [], log: [] },
  loopback: { bind: [], connect: [] },
};

// A project-like directory: /tmp itself is refused as a workspace (a shared location).
const workspace = mkdtempSync(join(tmpdir(), 'nemoclaw-run-test-'));

const enforcement = {
  landlock: { abi: 7, fs_rights_handled: 65535, net: true, scoped: ['signal'] },
  seccomp: { mode: 'filter', filters: 1, notify: true },
  no_new_privs: true,
  cap_eff: '0',
  cap_prm: '0',
  cap_bnd: '0',
  cap_amb: '0',
  namespaces: ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'],
  cgroup: null,
  uid: 1000,
  gid: 1000,
};
const READY = JSON.stringify({ type: 'ready', enforcement, pid: 1, skipped: [] });

async function runFake(script: string[], onExecAsk?: () => Promise<'allow' | 'deny'>) {
  const events: SandboxEvent[] = [];
  const sb = runSandbox({ spec, command: script, workspace, helper: fake, stdio: 'pipe', onEvent: (e) => events.push(e), onExecAsk });
  let stdout = '';
  sb.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const result = await sb.result;
  return { result, events, stdout, ready: await sb.ready };
}

describe('runSandbox with a FAKE helper', () => {
  it('maps a clean run: ready, exit event, status, stamped events', async () => {
    const { result, events, ready } = await runFake(['emit', READY, 'emit', '{"type":"exit","code":3,"signal":null,"reason":"exited"}', 'exit', '3']);
    expect(result).toMatchObject({ status: 3, reason: 'exited', mismatches: [], failure: null });
    expect(ready?.enforcement.landlock.abi).toBe(7);
    expect(events.map((e) => e.type)).toEqual(['ready', 'exit']);
    expect(events[0]?.sandbox).toMatch(/^sb-/);
    expect(Number.isNaN(Date.parse(events[0]?.ts ?? ''))).toBe(false);
  });

  it('answers an exec ask after ready through the control fd', async () => {
    const ask = JSON.stringify({ type: 'exec_ask', id: 7, pid: 2, path: '/opt/x' });
    const { stdout } = await runFake(['emit', READY, 'read', 'emit', ask, 'read', 'exit', '0'], async () => 'allow');
    expect(stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ verdict: 'go' }, { id: 7, decision: 'allow' }]);
  });

  it('sends the verdict go after a verified ready report', async () => {
    const { stdout, result } = await runFake(['emit', READY, 'read', 'exit', '0']);
    expect(stdout).toBe('{"verdict":"go"}\n');
    expect(result.status).toBe(0);
  });

  it('never sends go for a report that fails verification: refuse, kill, 125', async () => {
    const bad = JSON.stringify({ type: 'ready', enforcement: { ...enforcement, no_new_privs: false }, pid: 1, skipped: [] });
    const { stdout, result, events } = await runFake(['emit', bad, 'read', 'exit', '0']);
    // Nothing at all reaches the control fd: the helper is killed without a go.
    expect(stdout).toBe('');
    expect(result.status).toBe(125);
    expect(result.reason).toBe('refused');
    expect(events.find((e) => e.type === 'error')).toMatchObject({ step: 'verify_enforcement' });
  });

  it('denies an exec ask that comes before ready, without asking anyone', async () => {
    let asked = false;
    const ask = JSON.stringify({ type: 'exec_ask', id: 1, pid: 2, path: '/opt/x' });
    const { stdout } = await runFake(['emit', ask, 'read', 'emit', READY, 'exit', '0'], async () => {
      asked = true;
      return 'allow';
    });
    expect(JSON.parse(stdout)).toEqual({ id: 1, decision: 'deny' });
    expect(asked).toBe(false);
  });

  it('refuses (125) when a malformed event comes before ready', async () => {
    const { result } = await runFake(['emit', '{"type":"ready","pid":"x"}', 'exit', '0']);
    expect(result).toMatchObject({ status: 125, reason: 'refused' });
  });

  it('is 125 when the helper ends without reporting enforcement, even with exit 0', async () => {
    const { result, events } = await runFake(['exit', '0']);
    expect(result).toMatchObject({ status: 125, reason: 'start_failed' });
    expect(result.failure).toMatch(/before reporting enforcement/);
    expect(events.at(-1)).toMatchObject({ type: 'exit', reason: 'start_failed' });
  });

  it('passes the helper error line through as a start failure', async () => {
    const { result } = await runFake(['emit', '{"type":"error","step":"pivot_root","errno":1,"message":"Operation not permitted"}', 'exit', '125']);
    expect(result).toMatchObject({ status: 125, reason: 'start_failed', failure: 'pivot_root: Operation not permitted (errno 1)', failurePrinted: true });
  });

  it('refuses (125) a report that misses the policy, naming the mismatch', async () => {
    const bad = JSON.stringify({ type: 'ready', enforcement: { ...enforcement, namespaces: ['mnt'] }, pid: 1 });
    const { result, events } = await runFake(['emit', bad, 'exit', '0']);
    expect(result.status).toBe(125);
    expect(result.mismatches).toEqual(['namespaces: pid, net, ipc, uts, cgroup missing']);
    expect(events.map((e) => e.type)).toEqual(['ready', 'error', 'exit']);
  });

  it('keeps stdin open for the caller when asked', async () => {
    const sb = runSandbox({ spec, command: ['emit', READY, 'read-stdin', 'exit', '0'], workspace, helper: fake, stdio: 'pipe', keepStdinOpen: true });
    let stdout = '';
    sb.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    sb.stdin?.end('hello from the caller\n');
    expect((await sb.result).status).toBe(0);
    expect(stdout).toBe('hello from the caller\n');
  });
});
