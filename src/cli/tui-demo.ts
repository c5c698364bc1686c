// The `nemoclaw tui --demo` workload: a `strict`-blueprint sandbox whose policy revision 2 lists a
// loopback origin the demo itself serves on the host's 127.0.0.1, reached from inside as
// host.nemoclaw.internal (docs/egress.md "Loopback"), with GET /admin denied and
// anything else on it asked (approvals.unmatched_egress: ask). The scripted workload then does
// allowed work (a file in its workspace), is denied a syscall (unshare), is denied egress
// (GET /admin) and waits on an approval (GET /report), all within a few seconds. Pressing `a` in
// the TUI lets the waiting curl through. Only loopback targets. No React/Ink here: `tui --demo
// --headless` runs it too, so it lives beside the verb and talks only to the supervisor's API.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ApiClient } from '../supervisor/index.ts';

// node:http through process.getBuiltinModule, not an ESM import, which evaluates every export: its
// lazy WebSocket getters load Node's bundled undici, ~40 ms on each CLI start (issue 23).
const { createServer } = process.getBuiltinModule('node:http');

export const DEMO_SANDBOX = 'demo-agent';

export interface DemoHandle {
  sandbox: string;
  origin: string;
  close(): Promise<void>;
}

/** The workload: one step a second, so a newcomer can follow it. */
export function demoScript(origin: string): string {
  return [
    'echo "demo: 1/4 write notes.txt in the workspace (allowed)"',
    'echo "written inside the sandbox at $(date +%T)" > notes.txt && cat notes.txt',
    'sleep 1',
    'echo "demo: 2/4 unshare --user (a syscall the strict policy denies)"',
    'unshare --user true 2>&1 || echo "demo: unshare was denied"',
    'sleep 1',
    `echo "demo: 3/4 curl ${origin}/admin (egress the policy denies)"`,
    `curl -s -w ' HTTP %{http_code}\\n' ${origin}/admin`,
    'sleep 1',
    `echo "demo: 4/4 curl ${origin}/report (not in the policy: waits for your approval, press a or d)"`,
    `curl -s -w ' HTTP %{http_code}\\n' ${origin}/report`,
    'echo "demo: done; the sandbox stays up (q quits)"',
    'exec /usr/bin/sleep 100000',
  ].join('\n');
}

/** The strict policy plus the demo origin: GET /ok allowed, GET /admin denied, the rest asked. */
export function demoPolicy(strictText: string, port: number): string {
  const doc = (parse(strictText) ?? {}) as Record<string, unknown>;
  const approvals = (doc.approvals ?? {}) as Record<string, unknown>;
  doc.approvals = { ...approvals, unmatched_egress: 'ask', timeout: '120s', on_timeout: 'deny' };
  const np = (doc.network_policies ?? {}) as Record<string, unknown>;
  np.demo_origin = {
    endpoints: [{ host: 'host.nemoclaw.internal', port, protocol: 'rest', rules: [{ allow: { method: 'GET', path: '/ok' } }], deny_rules: [{ method: 'GET', path: '/admin' }] }],
  };
  doc.network_policies = np;
  return `# strict + the demo's loopback origin (nemoclaw tui --demo)\n${stringify(doc)}`;
}

async function startOrigin(): Promise<Server> {
  const s = createServer((req, res) => res.end(`origin ok: ${req.method ?? ''} ${req.url ?? ''}`));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

/** Creates and starts the demo sandbox through the supervisor's API. */
export async function startDemo(api: Pick<ApiClient, 'call'>, name = DEMO_SANDBOX): Promise<DemoHandle> {
  const server = await startOrigin();
  const port = (server.address() as AddressInfo).port;
  const origin = `http://host.nemoclaw.internal:${port}`;
  // Outside NEMOCLAW_HOME (the sandbox refuses a workspace inside nemoclaw's state directory).
  const ws = mkdtempSync(join(tmpdir(), 'nemoclaw-demo-ws-'));
  chmodSync(ws, 0o777);
  try {
    await api.call('DELETE', `/v1/sandboxes/${name}`);
  } catch {
    // none yet
  }
  await api.call('POST', '/v1/sandboxes', { name, blueprint: 'strict', workspace: ws, command: ['sh', '-c', demoScript(origin)], restart: 'never', start: false });
  const pol = await api.call<{ current: { text: string } | null }>('GET', `/v1/sandboxes/${name}/policy`);
  await api.call('PUT', `/v1/sandboxes/${name}/policy`, { text: demoPolicy(pol.current?.text ?? '', port), reason: 'tui --demo: loopback origin, unmatched egress asked', author: 'nemoclaw tui --demo', confirm: true });
  await api.call('POST', `/v1/sandboxes/${name}/start`);
  return {
    sandbox: name,
    origin,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(ws, { recursive: true, force: true });
    },
  };
}
