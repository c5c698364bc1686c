// Widget bodies are pure functions of the store's snapshot, the UI state and the pane size. What
// each pane draws is asserted row by row at given sizes, as the frame shows it (each row fitted to
// the pane's width: truncated with an ellipsis, escapes made inert). The bodies themselves (not the
// registry's clamping wrapper) never produce more rows than the pane has, whatever the data.
import { describe, expect, it } from 'vitest';
import { initialUiState } from '../../src/tui/input/ui-state.ts';
import type { UiState } from '../../src/tui/input/types.ts';
import { PANES } from '../../src/tui/layout/panes.ts';
import type { PaneId } from '../../src/tui/layout/panes.ts';
import type { TuiEvent } from '../../src/tui/store/events.ts';
import { TuiStore } from '../../src/tui/store/tui-store.ts';
import type { TuiSnapshot } from '../../src/tui/store/tui-store.ts';
import { fitLine, lineText } from '../../src/tui/text/line.ts';
import { approvalsBody } from '../../src/tui/widgets/approvals/view.ts';
import { auditBody } from '../../src/tui/widgets/audit/view.ts';
import { chatBody } from '../../src/tui/widgets/chat/view.ts';
import { modelsBody } from '../../src/tui/widgets/models/view.ts';
import { egressBody } from '../../src/tui/widgets/egress/view.ts';
import { gpuBody } from '../../src/tui/widgets/gpu/view.ts';
import { WIDGETS } from '../../src/tui/widgets/index.ts';
import type { BodyProps, PaneBody } from '../../src/tui/widgets/index.ts';
import { logsBody } from '../../src/tui/widgets/logs/view.ts';
import { sandboxesBody } from '../../src/tui/widgets/sandboxes/view.ts';
import { syscallsBody } from '../../src/tui/widgets/syscalls/view.ts';

const NOW = 1_700_000_000_000;

function busyStore(): TuiStore {
  const store = new TuiStore({ capacities: { logs: 300 } });
  const evil = 'x\u001b[2J\u001b]0;pwned\u0007日本語'.repeat(20);
  const events: TuiEvent[] = [];
  for (let i = 0; i < 60; i++) {
    const sb = `sandbox-with-a-long-name-${i % 5}`;
    events.push(
      { type: 'sandbox_state', ts: NOW, sandbox: { name: sb, state: 'running', blueprint: 'strict', policyRevision: i, startedAt: NOW - 1000 * i, degraded: i % 7 === 0 ? ['landlock abi 1'] : [] } },
      { type: 'syscall_denied', ts: NOW + i, sandbox: sb, pid: i, binary: `/usr/bin/${evil}`, syscall: `sys${i % 9}`, rule: 'baseline' },
      { type: 'exec_denied', ts: NOW + i, sandbox: sb, pid: i, binary: '/bin/sh', path: `/tmp/${evil}`, rule: 'exec' },
      { type: 'egress_denied', ts: NOW + i, sandbox: sb, binary: '/usr/bin/curl', host: `h${i}.${evil}.example`, port: 443, rule: 'default-deny' },
      { type: 'egress_allowed', ts: NOW + i, sandbox: sb, binary: '/usr/bin/git', host: 'github.com', port: 443, rule: 'github' },
      { type: 'approval_pending', ts: NOW, approval: { id: `ap-${i}`, sandbox: sb, kind: 'exec', summary: `exec ${evil}`, createdAt: NOW - i * 1000, timeoutAt: NOW + (i - 30) * 1000 } },
      { type: 'log', ts: NOW + i, sandbox: sb, stream: i % 2 === 0 ? 'stderr' : 'stdout', line: `${evil} ${i}` },
      { type: 'audit', ts: NOW + i, seq: i, kind: 'egress.deny', summary: evil },
      { type: 'inference', ts: NOW + i, sandbox: sb, backend: 'nim', model: evil, decision: 'local-only', latencyMs: i },
      { type: 'limit_hit', ts: NOW + i, sandbox: sb, limit: 'pids', value: '512' },
      { type: 'host_sample', ts: NOW + i, sample: { cpu: i % 100, memUsed: i * 1e8, memTotal: 64e9, ts: NOW + i } },
      { type: 'gpu_sample', ts: NOW + i, gpus: [0, 1, 2, 3].map((g) => ({ index: g, name: `NVIDIA ${evil}`, utilization: (i * 7 + g) % 101, memoryUsed: 1000 * i, memoryTotal: 81559, temperature: 50, powerDraw: 300.5, ts: NOW + i })) },
      { type: 'gpu_processes', ts: NOW + i, processes: [{ pid: 1, name: evil, usedMemory: 100, gpuUuid: 'GPU-1', owner: { kind: 'model', name: evil } }] },
      { type: 'models', ts: NOW + i, status: { state: 'ok' }, models: [{ name: evil, engine: 'vllm', image: evil, model: evil, port: 8000, state: 'running', exitCode: null, restartCount: i, startedAt: NOW - i, ready: true, registered: true, containerId: 'abcdef012345', cpuPercent: i, memoryBytes: i * 1e6, memoryLimitBytes: 1e9, recentLogs: [evil, `${evil} ${i}`] }] },
    );
    if (i % 3 === 0) events.push({ type: 'approval_decided', ts: NOW, decision: { id: `ap-${i}`, sandbox: sb, summary: evil, verdict: i % 2 === 0 ? 'allow' : 'deny', always: i % 4 === 0, by: 'cli', ts: NOW } });
  }
  store.ingestMany(events);
  store.flush();
  return store;
}

/** The widgets' own bodies, without the registry's clamping wrapper (WIDGETS[id].body). */
const BODIES: Readonly<Record<PaneId, (p: BodyProps) => PaneBody>> = {
  sandboxes: sandboxesBody,
  approvals: approvalsBody,
  syscalls: syscallsBody,
  egress: egressBody,
  gpu: gpuBody,
  logs: logsBody,
  audit: auditBody,
  chat: chatBody,
  models: modelsBody,
};

/** HH:MM:SS in local time, as the feeds print it. */
function clock(ts: number): string {
  return new Date(ts).toTimeString().slice(0, 8);
}

/** A small, known workload: two sandboxes and one or two rows for every pane. */
function smallStore(): TuiStore {
  const store = new TuiStore();
  store.ingestMany([
    { type: 'sandbox_state', ts: NOW - 5000, sandbox: { name: 'alpha', state: 'running', blueprint: 'strict', policyRevision: 2, startedAt: NOW - 65_000, degraded: [] } },
    { type: 'sandbox_state', ts: NOW - 4000, sandbox: { name: 'beta', state: 'stopped', blueprint: 'default', policyRevision: 1, startedAt: NOW - 10_000, degraded: ['landlock abi 1'] } },
    { type: 'sandbox_stats', ts: NOW - 3500, sandbox: 'alpha', cpuPercent: 12.5, memoryBytes: 256 * 1024 * 1024 },
    { type: 'syscall_denied', ts: NOW - 3000, sandbox: 'alpha', pid: 42, binary: '/usr/bin/unshare', syscall: 'unshare', rule: 'baseline' },
    { type: 'exec_denied', ts: NOW - 2500, sandbox: 'alpha', pid: 43, binary: '/bin/sh', path: '/tmp/evil', rule: 'exec' },
    { type: 'egress_denied', ts: NOW - 2000, sandbox: 'alpha', binary: '/usr/bin/curl', host: 'evil.example', port: 443, rule: 'default-deny' },
    { type: 'egress_allowed', ts: NOW - 1500, sandbox: 'alpha', binary: '/usr/bin/git', host: 'github.com', port: 443, rule: 'github' },
    { type: 'approval_pending', ts: NOW - 1000, approval: { id: 'ap-1', sandbox: 'alpha', kind: 'egress', summary: 'curl -> api.example.com:443', createdAt: NOW - 10_000, timeoutAt: NOW + 50_000 } },
    { type: 'approval_decided', ts: NOW - 500, decision: { id: 'ap-0', sandbox: 'beta', summary: 'exec /opt/tool', verdict: 'deny', always: true, by: 'cli', ts: NOW - 500 } },
    { type: 'log', ts: NOW - 400, sandbox: 'alpha', stream: 'stdout', line: 'hello from alpha' },
    { type: 'log', ts: NOW - 300, sandbox: 'beta', stream: 'stderr', line: 'oops on stderr' },
    { type: 'audit', ts: NOW - 200, seq: 7, kind: 'egress.deny', summary: 'alpha curl -> evil.example:443' },
    { type: 'host_sample', ts: NOW - 100, sample: { cpu: 12.5, memUsed: 8e9, memTotal: 64e9, ts: NOW - 100 } },
    { type: 'gpu_sample', ts: NOW - 100, gpus: [{ index: 0, name: 'NVIDIA H100', utilization: 42, memoryUsed: 20000, memoryTotal: 81559, temperature: 50, powerDraw: 300.5, ts: NOW - 100 }] },
    { type: 'gpu_processes', ts: NOW - 100, processes: [{ pid: 1234, name: 'python', usedMemory: 20000, gpuUuid: 'GPU-1' }] },
    { type: 'inference', ts: NOW - 50, sandbox: 'alpha', backend: 'nim', model: 'llama', decision: 'local-only', latencyMs: 12 },
  ]);
  store.flush();
  return store;
}

/** What the user sees in a pane of width x height: each row as the frame draws it (trailing blanks dropped), and the footer. */
function drawn(snapshot: TuiSnapshot, id: PaneId, width: number, height: number, ui: UiState = initialUiState({ theme: 'ansi' })): { rows: string[]; footer: string | undefined } {
  const body = WIDGETS[id].body({ snapshot, ui, width, height, now: NOW, focused: true });
  return { rows: body.lines.map((l) => lineText(fitLine(l, width)).trimEnd()), footer: body.footer };
}

describe('what each pane draws', () => {
  const store = smallStore();
  const snapshot = store.getSnapshot();

  it('at 90x8', () => {
    const at = (id: PaneId) => drawn(snapshot, id, 90, 8);
    expect(at('sandboxes')).toEqual({
      rows: [
        ' NAME                    STATE        UP DEN APR  CPU   MEM BLUEPRINT REV',
        ' alpha                   running   1m05s   3   1  13%  256M strict      2',
        ' beta                    stopped       -   0   0    -     - default     1 DEGRADED',
      ],
      footer: '2',
    });
    expect(at('approvals')).toEqual({
      rows: ['▶ ap-1 50s left curl -> api.example.com:443  alpha egress age 10s', 'recent decisions', `✗ deny  always ap-0 exec /opt/tool by cli ${clock(NOW - 500)}`],
      footer: 'a/A allow · d/D deny · Enter details · 1 pending',
    });
    expect(at('syscalls')).toEqual({ rows: [`${clock(NOW - 2500)} exec /tmp/evil alpha sh exec`, `${clock(NOW - 3000)} unshare alpha unshare baseline`], footer: '2' });
    // Allowed egress is hidden until the operator shows it.
    expect(at('egress')).toEqual({ rows: [`${clock(NOW - 2000)} ✗ evil.example:443 alpha curl default-deny`], footer: 'denied · 1' });
    expect(drawn(snapshot, 'egress', 90, 8, { ...initialUiState({ theme: 'ansi' }), showAllowed: true })).toEqual({
      rows: [`${clock(NOW - 1500)} ✓ github.com:443 alpha git github`, `${clock(NOW - 2000)} ✗ evil.example:443 alpha curl default-deny`],
      footer: 'all · 2',
    });
    expect(at('gpu')).toEqual({
      rows: ['0 H100  42% [███▍    ] 19.5/79.6G 50°C 301W', '   1234 19.5G python', '', '', '', '', `CPU  13%${' '.repeat(64)}▂`, `MEM    7.5G/60G${' '.repeat(74)}▂`],
      footer: '1 GPU',
    });
    expect(at('logs')).toEqual({ rows: [`${clock(NOW - 300)} beta oops on stderr`, `${clock(NOW - 400)} alpha hello from alpha`], footer: 'all sandboxes · 2' });
    expect(at('audit')).toEqual({ rows: [`#7 ${clock(NOW - 200)} egress.deny alpha curl -> evil.example:443`], footer: '1' });
    // The chat follows the sandbox under the Sandboxes cursor (alpha); it has no conversation yet.
    expect(at('chat')).toEqual({ rows: ['No conversation with alpha yet: i types a message.', '', '', '', '', '', '', 'i type · k/j scroll · Ctrl-X cancel'], footer: 'alpha · 0 turns' });
  });

  it('at 34x4: narrower columns, times dropped, long rows cut with an ellipsis', () => {
    const at = (id: PaneId) => drawn(snapshot, id, 34, 4).rows;
    expect(at('sandboxes')).toEqual([' NAME  STATE        UP DEN APR  C…', ' alpha running   1m05s   3   1  1…', ' beta  stopped       -   0   0   …']);
    expect(at('approvals')).toEqual(['▶ ap-1 50s left curl -> api.examp…', 'recent decisions', '✗ deny  always ap-0 exec /opt/tool']);
    expect(at('syscalls')).toEqual(['exec /tmp/evil alpha sh exec', 'unshare alpha unshare baseline']);
    expect(at('egress')).toEqual(['✗ evil.example:443 alpha curl def…']);
    expect(at('gpu')).toEqual(['0 H100  42% [███▍    ] 19.5/79.6G…', '   1234 19.5G python', `CPU  13%${' '.repeat(8)}▂`, `MEM    7.5G/60G${' '.repeat(18)}▂`]);
    expect(at('logs')).toEqual(['beta oops on stderr', 'alpha hello from alpha']);
    expect(at('audit')).toEqual(['#7 egress.deny alpha curl -> evil…']);
    expect(at('chat')).toEqual(['No conversation with alpha yet: i…', '', '', 'i type · k/j scroll · Ctrl-X canc…']);
  });

  it('a pane of no width or no height draws nothing', () => {
    for (const id of PANES) {
      expect(drawn(snapshot, id, 0, 8).rows, id).toEqual([]);
      expect(drawn(snapshot, id, 90, 0).rows, id).toEqual([]);
    }
  });
});

describe('widget bodies', () => {
  const store = busyStore();
  const snapshot = store.getSnapshot();

  it('never return more rows than the pane has, at any size, and draw no escape sequence', () => {
    for (const id of PANES) {
      for (const showAllowed of [false, true]) {
        const ui = { ...initialUiState({ theme: 'ansi' }), focus: id, showAllowed, cursor: { [id]: 3 } };
        for (let w = 1; w <= 130; w += 7) {
          for (let h = 1; h <= 40; h += 3) {
            const body = BODIES[id]({ snapshot, ui, width: w, height: h, now: NOW, focused: true });
            expect(body.lines.length, `${id} ${w}x${h}`).toBeLessThanOrEqual(h);
            if (h >= 4) expect(body.lines.length, `${id} ${w}x${h}: a busy pane draws rows`).toBeGreaterThan(0);
            for (const l of body.lines) expect(lineText(fitLine(l, w))).not.toContain('\u001b');
          }
        }
      }
    }
  });

  it('the approvals pane counts down and marks expired approvals', () => {
    const ui = initialUiState({ theme: 'ansi' });
    const text = approvalsBody({ snapshot, ui, width: 120, height: 40, now: NOW, focused: true }).lines.map(lineText).join('\n');
    expect(text).toContain('expired');
    expect(text).toMatch(/ \d+s left /);
    expect(text).toContain('recent decisions');
  });

  it('the GPU pane says "no NVIDIA GPU found" with the reason', () => {
    const s = new TuiStore();
    s.ingest({ type: 'gpu_status', ts: NOW, status: { state: 'unavailable', reason: 'nvidia-smi not found' } });
    s.flush();
    const text = gpuBody({ snapshot: s.getSnapshot(), ui: initialUiState({ theme: 'ansi' }), width: 60, height: 8, now: NOW, focused: false }).lines.map(lineText).join('\n');
    expect(text).toContain('no NVIDIA GPU found');
    expect(text).toContain('nvidia-smi not found');
    s.dispose();
  });

  it('feeds filter with ! inverting', () => {
    const ui = { ...initialUiState({ theme: 'ansi' }), filters: { egress: { text: 'h1.', invert: false } } };
    const rows = WIDGETS.egress.rowCount!(snapshot, ui);
    const inverted = WIDGETS.egress.rowCount!(snapshot, { ...ui, filters: { egress: { text: 'h1.', invert: true } } });
    const all = WIDGETS.egress.rowCount!(snapshot, initialUiState({ theme: 'ansi' }));
    expect(rows).toBeGreaterThan(0);
    expect(rows + inverted).toBe(all);
  });
});
