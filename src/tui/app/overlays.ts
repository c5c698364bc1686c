// Overlays: help (generated from the keymap), confirm, approval details, and the too-small screen.
import { Box } from 'ink';
import { COMMAND_HELP } from '../input/commands.ts';
import { activeContexts } from '../input/dispatcher.ts';
import { KEYMAP } from '../input/keymap.ts';
import { displayKey } from '../input/tokenize.ts';
import type { Context, KeyBinding, UiState } from '../input/types.ts';
import { MIN_COLS, MIN_ROWS, type Rect } from '../layout/layout.ts';
import { PANE_TITLES, isPaneId } from '../layout/panes.ts';
import type { PendingApproval } from '../store/events.ts';
import type { SandboxRow } from '../store/tui-store.ts';
import { seg, type Line } from '../text/line.ts';
import type { Theme, Token } from '../theme/theme.ts';
import { duration } from '../widgets/common.ts';
import type { LearnMode } from '../widgets/learn/reducer.ts';
import { learnFooter, learnLines } from '../widgets/learn/view.ts';
import type { ModelLogsMode } from '../widgets/models/reducer.ts';
import { modelLogsLines } from '../widgets/models/view.ts';
import { Frame } from './frame.ts';
import { h } from './h.ts';
import { LineView } from './line-view.ts';

function contextTitle(c: Context): string {
  if (c === 'global') return 'Everywhere';
  if (isPaneId(c)) return PANE_TITLES[c];
  return { help: 'Help', confirm: 'Confirm', details: 'Approval details', sandbox: 'Sandbox details', command: 'Command bar', filter: 'Filter', learn: 'Learning proposal', modelLogs: 'Model logs', chatInput: 'Chat input' }[c];
}

/** The help text for the current state, generated from the keymap table. */
export function helpLines(state: UiState, keymap: readonly KeyBinding[] = KEYMAP): Line[] {
  const base: UiState = { ...state, modes: state.modes.filter((m) => m.kind !== 'help') };
  const contexts = activeContexts(base);
  const lines: Line[] = [];
  for (const c of contexts) {
    const rows = keymap.filter((k) => k.context === c);
    if (rows.length === 0) continue;
    if (lines.length > 0) lines.push([]);
    lines.push([seg(contextTitle(c), 'accent', { bold: true })]);
    for (const k of rows) lines.push([seg(`  ${k.keys.map(displayKey).join(' ').padEnd(14)} `, 'info'), seg(k.description, 'text')]);
  }
  if (contexts.includes('global')) {
    lines.push([], [seg('Commands (:)', 'accent', { bold: true })]);
    for (const c of COMMAND_HELP) lines.push([seg(`  ${c.usage.padEnd(30)} `, 'info'), seg(c.description, 'text')]);
  }
  return lines;
}

export function centered(screen: Rect, width: number, height: number): Rect {
  const w = Math.min(width, screen.width);
  const hgt = Math.min(height, screen.height);
  return { x: Math.floor((screen.width - w) / 2), y: Math.floor((screen.height - hgt) / 2), width: w, height: hgt };
}

export function HelpOverlay({ state, screen, theme, ascii }: { state: UiState; screen: Rect; theme: Theme; ascii: boolean }) {
  const all = helpLines(state);
  const rect = centered(screen, 84, screen.height - 2);
  const inner = rect.height - 2;
  const top = state.modes.find((m) => m.kind === 'help');
  const scroll = Math.max(0, Math.min(top?.kind === 'help' ? top.scroll : 0, all.length - inner));
  return h(Frame, { rect, title: 'Help', info: 'Esc/? close · j/k scroll', footer: `${scroll + 1}-${Math.min(all.length, scroll + inner)} of ${all.length}`, focused: true, lines: all.slice(scroll, scroll + inner), theme, ascii });
}

export function ConfirmOverlay({ prompt, detail, screen, theme, ascii }: { prompt: string; detail?: string; screen: Rect; theme: Theme; ascii: boolean }) {
  const detailLines = (detail ?? '').split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
  const lines: Line[] = [[seg(prompt, 'warn', { bold: true })], [], ...detailLines.map((l) => [seg(l, 'info')]), [], [seg('y/Enter ', 'accent', { bold: true }), seg('confirm   '), seg('n/Esc ', 'accent', { bold: true }), seg('cancel')]];
  const rect = centered(screen, 76, Math.min(lines.length + 2, screen.height - 2));
  return h(Frame, { rect, title: 'Confirm', focused: true, lines, theme, ascii });
}

export function DetailsOverlay({ approval, now, screen, theme, ascii }: { approval: PendingApproval | undefined; now: number; screen: Rect; theme: Theme; ascii: boolean }) {
  const lines: Line[] =
    approval === undefined
      ? [[seg('This approval is no longer pending (decided elsewhere or timed out).', 'muted')], [], [seg('Esc close', 'accent')]]
      : [
          [seg('id        ', 'muted'), seg(approval.id, 'warn', { bold: true })],
          [seg('sandbox   ', 'muted'), seg(approval.sandbox)],
          [seg('kind      ', 'muted'), seg(approval.kind)],
          [seg('action    ', 'muted'), seg(approval.summary, 'text', { bold: true })],
          [seg('binary    ', 'muted'), seg(approval.binary ?? '-')],
          [seg('target    ', 'muted'), seg(approval.target ?? '-')],
          [seg('age       ', 'muted'), seg(duration(now - approval.createdAt))],
          [seg('times out ', 'muted'), seg(approval.timeoutAt > now ? `in ${duration(approval.timeoutAt - now)} (then denied)` : 'expired', 'warn')],
          [],
          [seg('a ', 'accent', { bold: true }), seg('allow once  '), seg('A ', 'accent', { bold: true }), seg('allow always  '), seg('d ', 'accent', { bold: true }), seg('deny once  '), seg('D ', 'accent', { bold: true }), seg('deny always  '), seg('Esc ', 'accent', { bold: true }), seg('close')],
        ];
  const rect = centered(screen, 76, lines.length + 2);
  return h(Frame, { rect, title: `Approval ${approval?.id ?? ''}`.trim(), focused: true, lines, theme, ascii });
}

export function SandboxOverlay({ sandbox, now, screen, theme, ascii }: { sandbox: SandboxRow | undefined; now: number; screen: Rect; theme: Theme; ascii: boolean }) {
  const lines: Line[] = [];
  if (sandbox === undefined) lines.push([seg('This sandbox is gone.', 'muted')]);
  else {
    const kv = (k: string, v: string, tone?: Token): Line => [seg(k.padEnd(12), 'muted'), seg(v, tone)];
    lines.push(
      kv('name', sandbox.name),
      kv('state', sandbox.state, sandbox.state === 'running' ? 'ok' : sandbox.state === 'failed' ? 'error' : undefined),
      kv('blueprint', sandbox.blueprint),
      kv('policy rev', String(sandbox.policyRevision)),
      kv('pid', sandbox.pid !== undefined ? String(sandbox.pid) : '-'),
      kv('uptime', sandbox.startedAt !== undefined && sandbox.state === 'running' ? duration(now - sandbox.startedAt) : '-'),
      kv('denials', String(sandbox.denials), sandbox.denials > 0 ? 'deny' : undefined),
      kv('approvals', `${sandbox.pendingApprovals} pending`, sandbox.pendingApprovals > 0 ? 'warn' : undefined),
    );
    if (sandbox.lastLimit !== undefined) lines.push(kv('last limit', sandbox.lastLimit, 'warn'));
    if (sandbox.inference !== undefined) lines.push(kv('inference', `${sandbox.inference.mode}: ${sandbox.inference.models}`));
    if (sandbox.learning !== undefined) {
      const l = sandbox.learning;
      const what = [l.egress ? `unmatched egress audited, ${l.destinations} distinct destination${l.destinations === 1 ? '' : 's'} seen` : '', l.exec ? `execs outside the allowlist allowed, ${l.execs} seen` : ''].filter((x) => x !== '').join('; ');
      lines.push(kv('LEARNING', `${what} (P proposes a revision)`, 'warn'));
    }
    for (const d of sandbox.degraded ?? []) lines.push(kv('DEGRADED', d, 'error'));
    lines.push([], [seg('Policy', 'accent', { bold: true })]);
    if (sandbox.policySummary === undefined || sandbox.policySummary.length === 0) lines.push([seg('  (not reported)', 'muted')]);
    else for (const p of sandbox.policySummary) lines.push([seg(`  ${p}`)]);
    lines.push([], [seg('Enforcement (helper report)', 'accent', { bold: true })]);
    const e = Object.entries(sandbox.enforcement ?? {});
    if (e.length === 0) lines.push([seg('  (not reported)', 'muted')]);
    else for (const [k, v] of e) lines.push([seg(`  ${k.padEnd(14)}`, 'muted'), seg(v)]);
  }
  lines.push([], [seg('l ', 'accent', { bold: true }), seg('logs of this sandbox   '), seg('P ', 'accent', { bold: true }), seg('learn   '), seg('Esc ', 'accent', { bold: true }), seg('close')]);
  const rect = centered(screen, 76, Math.min(lines.length + 2, screen.height));
  return h(Frame, { rect, title: `Sandbox ${sandbox?.name ?? ''}`.trim(), focused: true, lines: lines.slice(0, Math.max(0, rect.height - 2)), theme, ascii });
}

/** The learning proposal (issue 22): summary, then the diff, scrolled; nothing is written until y. */
export function LearnOverlay({ mode, screen, theme, ascii }: { mode: LearnMode; screen: Rect; theme: Theme; ascii: boolean }) {
  const { head, body } = learnLines(mode);
  const rect = centered(screen, Math.max(60, Math.min(110, screen.width - 4)), screen.height - 2);
  const room = Math.max(0, rect.height - 2 - head.length - 2);
  const scroll = Math.max(0, Math.min(mode.scroll, body.length - room));
  const lines: Line[] = [...head, [], ...body.slice(scroll, scroll + room)];
  while (lines.length < rect.height - 3) lines.push([]);
  lines.push(learnFooter(mode));
  const footer = body.length > room ? `${scroll + 1}-${Math.min(body.length, scroll + room)} of ${body.length}` : '';
  return h(Frame, { rect, title: 'Learning proposal', info: 'nothing written until y', footer, focused: true, lines, theme, ascii });
}

/** A model's recent log lines (Models pane, l or Enter): inert text, newest at the bottom. */
export function ModelLogsOverlay({ mode, screen, theme, ascii }: { mode: ModelLogsMode; screen: Rect; theme: Theme; ascii: boolean }) {
  const rect = centered(screen, Math.max(60, Math.min(140, screen.width - 4)), screen.height - 2);
  const room = Math.max(1, rect.height - 4);
  const { lines, footer } = modelLogsLines(mode, room);
  const body: Line[] = [...lines];
  while (body.length < rect.height - 3) body.push([]);
  body.push([seg('j/k ', 'accent', { bold: true }), seg('scroll   '), seg('r ', 'accent', { bold: true }), seg('restart   '), seg('s ', 'accent', { bold: true }), seg('stop   '), seg('Esc ', 'accent', { bold: true }), seg('close')]);
  return h(Frame, { rect, title: `Logs of model ${mode.name}`, info: 'container output, inert', footer, focused: true, lines: body, theme, ascii });
}

/** Below 80x24: say so, and what is needed; q still quits. */
export function TooSmall({ cols, rows, theme, prompt }: { cols: number; rows: number; theme: Theme; prompt?: string }) {
  const msg: Line[] = [
    [seg('terminal too small', 'error', { bold: true })],
    [seg(`need ${MIN_COLS}x${MIN_ROWS}, have `, 'text'), seg(`${cols}x${rows}`, 'warn', { bold: true })],
    prompt !== undefined ? [seg(prompt, 'warn', { bold: true }), seg(' y/n', 'accent')] : [seg('resize the terminal, or q to quit', 'muted')],
  ];
  const top = Math.max(0, Math.floor((rows - msg.length) / 2));
  const children = [];
  for (let y = 0; y < rows; y++) {
    const line = y >= top && y < top + msg.length ? (msg[y - top] ?? []) : [];
    const w = line.reduce((n, s) => n + s.text.length, 0);
    const pad = Math.max(0, Math.floor((cols - w) / 2));
    children.push(h(LineView, { key: y, line: pad > 0 && line.length > 0 ? [seg(' '.repeat(pad)), ...line] : line, width: cols, theme }));
  }
  return h(Box, { width: cols, height: rows, flexDirection: 'column', overflowY: 'hidden' }, ...children);
}

