// Component behaviour through ink-testing-library (100 columns; no real TTY).
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/tui/app/app.ts';
import { helpLines } from '../../src/tui/app/overlays.ts';
import type { Effect } from '../../src/tui/input/types.ts';
import { initialUiState, UiStore } from '../../src/tui/input/ui-state.ts';
import type { TuiEvent } from '../../src/tui/store/events.ts';
import { TuiStore } from '../../src/tui/store/tui-store.ts';
import { loadThemes } from '../../src/tui/theme/theme.ts';
import { waitFor } from '../helpers/wait.ts';

const themes = loadThemes();
const T0 = Date.now();
const seed: TuiEvent[] = [
  { type: 'sandbox_state', ts: T0, sandbox: { name: 'demo', state: 'running', blueprint: 'strict', policyRevision: 1, startedAt: T0 } },
  { type: 'syscall_denied', ts: T0, sandbox: 'demo', pid: 7, binary: '/usr/bin/gdb', syscall: 'ptrace', rule: 'baseline' },
  { type: 'syscall_denied', ts: T0, sandbox: 'demo', pid: 7, binary: '/usr/bin/gdb', syscall: 'ptrace', rule: 'baseline' },
  { type: 'egress_denied', ts: T0, sandbox: 'demo', binary: '/usr/bin/wget', host: 'evil.example.net', port: 80, rule: 'default-deny' },
  { type: 'egress_allowed', ts: T0, sandbox: 'demo', binary: '/usr/bin/pip', host: 'pypi.org', port: 443, rule: 'pypi' },
  {
    type: 'approval_pending',
    ts: T0,
    approval: { id: 'ap-7', sandbox: 'demo', kind: 'egress', summary: 'curl -> api.example.com:443', createdAt: T0, timeoutAt: T0 + 120_000, alwaysRule: { allow: 'network_policies: {ok: 1}', deny: 'deny-rule' } },
  },
  { type: 'log', ts: T0, sandbox: 'demo', stream: 'stdout', line: 'hello from the sandbox' },
];

const mounted: { unmount(): void }[] = [];
afterEach(() => {
  while (mounted.length > 0) mounted.pop()?.unmount();
});

function setup(theme = 'ansi', publishIntervalMs = 5) {
  const store = new TuiStore({ publishIntervalMs });
  store.ingestMany(seed);
  store.flush();
  const ui = new UiStore(initialUiState({ theme }));
  const effects: Effect[] = [];
  const app = render(createElement(App, { store, ui, themes, onEffect: (e: Effect) => effects.push(e) }));
  mounted.push(app);
  const frame = (): string => app.lastFrame() ?? '';
  return { store, ui, effects, app, frame };
}

describe('App (ink-testing-library)', () => {
  it('shows every pane title, the pending approval with its countdown, and collapsed counts', async () => {
    const { frame } = setup();
    await waitFor(() => frame().includes('ap-7'), 'pending approval');
    for (const title of ['Sandboxes', 'Approvals', 'Syscall denials', 'Egress', 'GPU & host', 'Logs', 'Audit', 'Agent chat']) expect(frame()).toContain(title);
    expect(frame()).toMatch(/ap-7 1m\d\ds left/);
    expect(frame()).toContain('ptrace ×2 demo gdb');
    expect(frame()).toContain('evil.example.net:80');
    expect(frame()).not.toContain('pypi.org'); // egress shows denied only by default
  });

  it('a allows the selected approval, and the decision shows once the source reports it', async () => {
    const { frame, app, effects, store } = setup();
    await waitFor(() => frame().includes('ap-7'), 'pending approval');
    app.stdin.write('a');
    await waitFor(() => effects.length > 0, 'decide effect');
    expect(effects).toEqual([{ type: 'decide', id: 'ap-7', verdict: 'allow', always: false }]);
    store.ingest({ type: 'approval_decided', ts: Date.now(), decision: { id: 'ap-7', sandbox: 'demo', summary: 'curl -> api.example.com:443', verdict: 'allow', always: false, by: 'tui', ts: Date.now() } });
    await waitFor(() => frame().includes('No pending approvals.'), 'approval gone');
    expect(frame()).toContain('✓ allow');
  });

  it('A shows the rule it would write and asks before deciding', async () => {
    const { frame, app, effects } = setup();
    await waitFor(() => frame().includes('ap-7'), 'pending approval');
    app.stdin.write('A');
    await waitFor(() => frame().includes('Confirm'), 'confirm dialog');
    expect(frame()).toContain('network_policies: {ok: 1}');
    expect(effects).toEqual([]);
    app.stdin.write('y');
    await waitFor(() => effects.length > 0, 'decide effect');
    expect(effects).toEqual([{ type: 'decide', id: 'ap-7', verdict: 'allow', always: true }]);
  });

  it('? opens help generated from the keymap; Esc closes it', async () => {
    const { frame, app } = setup();
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    app.stdin.write('?');
    await waitFor(() => frame().includes('allow the selected action once'), 'help overlay');
    expect(frame()).toContain('Everywhere');
    expect(helpLines(initialUiState({ theme: 'ansi' })).map((l) => l.map((s) => s.text).join('')).join('\n')).toContain(':layout');
    app.stdin.write('\u001b');
    await waitFor(() => !frame().includes('allow the selected action once'), 'help closed');
  });

  it('e on the egress pane shows allowed connections; a multi-key chunk is handled key by key', async () => {
    const { frame, app } = setup();
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    app.stdin.write('4e');
    await waitFor(() => frame().includes('pypi.org'), 'allowed egress shown');
  });

  it('the command bar and filter line show what is typed', async () => {
    const { frame, app } = setup();
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    app.stdin.write(':layout monitor');
    await waitFor(() => frame().includes(':layout monitor'), 'command text');
    app.stdin.write('ing\r');
    await waitFor(() => frame().includes('monitoring'), 'layout switched');
    app.stdin.write('6/!hello');
    await waitFor(() => frame().includes('/Logs: !hello'), 'filter line');
    expect(frame()).toContain('No log lines yet.');
  });

  it('p pauses feeds (PAUSED +N) while approvals stay live', async () => {
    const { frame, app, store } = setup();
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    app.stdin.write('p');
    await waitFor(() => frame().includes('PAUSED +0'), 'paused');
    store.ingest({ type: 'log', ts: Date.now(), sandbox: 'demo', stream: 'stdout', line: 'after the pause' });
    store.ingest({ type: 'approval_pending', ts: Date.now(), approval: { id: 'ap-8', sandbox: 'demo', kind: 'exec', summary: 'exec /tmp/x', createdAt: Date.now(), timeoutAt: Date.now() + 60_000 } });
    await waitFor(() => frame().includes('PAUSED +2'), 'paused counter');
    expect(frame()).toContain('ap-8');
    expect(frame()).not.toContain('after the pause');
    app.stdin.write('p');
    await waitFor(() => frame().includes('after the pause'), 'resumed');
  });

  it("a key's frame shows the events waiting for the next publish", async () => {
    const { frame, app, store } = setup('ansi', 3_600_000); // the store's own timer never fires in this test
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    store.ingest({ type: 'log', ts: Date.now(), sandbox: 'demo', stream: 'stdout', line: 'waiting to be published' });
    expect(frame()).not.toContain('waiting to be published');
    app.stdin.write('?');
    await waitFor(() => frame().includes('Esc/? close'), 'help overlay');
    app.stdin.write('?');
    await waitFor(() => frame().includes('waiting to be published'), 'the waiting event, drawn with the key');
  });

  it('Enter on a sandbox shows its details; Esc closes', async () => {
    const { frame, app } = setup();
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    app.stdin.write('1\r');
    await waitFor(() => frame().includes('Enforcement (helper report)'), 'sandbox details');
    expect(frame()).toContain('policy rev');
    expect(frame()).toContain('(not reported)');
    app.stdin.write('\u001b');
    await waitFor(() => !frame().includes('Enforcement (helper report)'), 'details closed');
  });

  it('draws with no colour codes in the no-colour theme', async () => {
    const { frame } = setup('no-colour');
    await waitFor(() => frame().includes('ap-7'), 'first frame');
    // eslint-disable-next-line no-control-regex
    expect(frame()).not.toMatch(/\u001b\[(3[0-9]|9[0-7]|38;)/);
  });
});
