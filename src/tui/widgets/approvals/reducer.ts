import { ok, pushMode, say, type DispatchCtx, type Result, type UiState } from '../../input/types.ts';
import type { PendingApproval, Verdict } from '../../store/events.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, clamp, matchesFilter } from '../common.ts';

export function pendingRows(snapshot: TuiSnapshot, ui: UiState): readonly PendingApproval[] {
  const f = activeFilter(ui, 'approvals');
  if (f === undefined || f.text === '') return snapshot.pending;
  return snapshot.pending.filter((p) => matchesFilter(`${p.id} ${p.sandbox} ${p.kind} ${p.summary} ${p.binary ?? ''} ${p.target ?? ''}`, f));
}

export function selectedApproval(ui: UiState, ctx: DispatchCtx): PendingApproval | undefined {
  if (ctx.pending.length === 0) return undefined;
  return ctx.pending[clamp(ui.cursor.approvals ?? 0, 0, ctx.pending.length - 1)];
}

/** How each kind of ask is named in a description (the widget marks tool calls "tool"). */
const WHAT: Record<PendingApproval['kind'], (target: string) => string> = {
  egress: (t) => `egress to ${t}`,
  exec: (t) => `exec of ${t}`,
  syscall: (t) => `syscall ${t}`,
  tool: (t) => `tool ${t}`,
};

/** What an "always" decision would write: the supervisor's proposed rule, or a description. */
export function alwaysRuleText(p: PendingApproval, verdict: Verdict): string {
  const proposed = p.alwaysRule?.[verdict];
  if (proposed !== undefined && proposed !== '') return proposed;
  const what = WHAT[p.kind](p.target ?? '?');
  return `${verdict === 'allow' ? 'allow' : 'deny'} ${what}${p.binary !== undefined ? ` by ${p.binary}` : ''} in sandbox ${p.sandbox} (rule text comes from the supervisor)`;
}

/** a / d: decide once, immediately. */
export function decideOnce(ui: UiState, ctx: DispatchCtx, verdict: Verdict): Result {
  const p = selectedApproval(ui, ctx);
  if (p === undefined) return ok(say(ui, 'no pending approval selected', 'warn'));
  return ok(say(ui, `${verdict === 'allow' ? 'allowing' : 'denying'} ${p.id}: ${p.summary}`, verdict === 'allow' ? 'ok' : 'warn'), [{ type: 'decide', id: p.id, verdict, always: false }]);
}

/** A / D: show the rule that would be written and ask to confirm. */
export function decideAlways(ui: UiState, ctx: DispatchCtx, verdict: Verdict): Result {
  const p = selectedApproval(ui, ctx);
  if (p === undefined) return ok(say(ui, 'no pending approval selected', 'warn'));
  return ok(
    pushMode(ui, {
      kind: 'confirm',
      action: { type: 'decide', id: p.id, verdict, always: true },
      prompt: `${verdict === 'allow' ? 'Allow' : 'Deny'} ALWAYS ${p.id} (${p.summary})? This writes:`,
      detail: alwaysRuleText(p, verdict),
    }),
  );
}
