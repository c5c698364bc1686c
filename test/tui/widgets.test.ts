// Widget bodies are pure: whatever the data and the pane size, they never produce more rows than
// the pane has, and the frame then makes every row exactly the pane's width.
import { describe, expect, it } from 'vitest';
import { initialUiState } from '../../src/tui/input/ui-state.ts';
import { PANES } from '../../src/tui/layout/panes.ts';
import type { TuiEvent } from '../../src/tui/store/events.ts';
import { TuiStore } from '../../src/tui/store/tui-store.ts';
import { cellWidth } from '../../src/tui/text/cells.ts';
import { fitLine, lineText } from '../../src/tui/text/line.ts';
import { approvalsBody } from '../../src/tui/widgets/approvals/view.ts';
import { gpuBody } from '../../src/tui/widgets/gpu/view.ts';
import { WIDGETS } from '../../src/tui/widgets/index.ts';

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
      { type: 'gpu_processes', ts: NOW + i, processes: [{ pid: 1, name: evil, usedMemory: 100, gpuUuid: 'GPU-1' }] },
    );
    if (i % 3 === 0) events.push({ type: 'approval_decided', ts: NOW, decision: { id: `ap-${i}`, sandbox: sb, summary: evil, verdict: i % 2 === 0 ? 'allow' : 'deny', always: i % 4 === 0, by: 'cli', ts: NOW } });
  }
  store.ingestMany(events);
  store.flush();
  return store;
}

describe('widget bodies', () => {
  const store = busyStore();
  const snapshot = store.getSnapshot();

  it('never return more rows than the pane has, at any size, and rows fit once framed', () => {
    for (const id of PANES) {
      for (const showAllowed of [false, true]) {
        const ui = { ...initialUiState({ theme: 'ansi' }), focus: id, showAllowed, cursor: { [id]: 3 } };
        for (let w = 0; w <= 130; w += 7) {
          for (let h = 0; h <= 40; h += 3) {
            const body = WIDGETS[id].body({ snapshot, ui, width: w, height: h, now: NOW, focused: true });
            expect(body.lines.length, `${id} ${w}x${h}`).toBeLessThanOrEqual(h);
            for (const l of body.lines) {
              const text = lineText(fitLine(l, w));
              expect(cellWidth(text), `${id} ${w}x${h}`).toBe(w);
              expect(text).not.toContain('\u001b');
            }
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
