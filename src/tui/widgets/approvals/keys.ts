import { ok, pushMode, say, type DispatchCtx, type Handler, type KeyBinding, type UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { decideAlways, decideOnce, pendingRows, selectedApproval } from './reducer.ts';

export const approvalsKeys: readonly KeyBinding[] = [
  { keys: ['a'], context: 'approvals', action: 'approvals.allowOnce', description: 'allow the selected action once' },
  { keys: ['A'], context: 'approvals', action: 'approvals.allowAlways', description: 'allow always (shows the rule it writes, asks to confirm)' },
  { keys: ['d'], context: 'approvals', action: 'approvals.denyOnce', description: 'deny the selected action once' },
  { keys: ['D'], context: 'approvals', action: 'approvals.denyAlways', description: 'deny always (shows the rule it writes, asks to confirm)' },
  { keys: ['enter'], context: 'approvals', action: 'approvals.details', description: 'details of the selected approval' },
  { keys: ['a'], context: 'details', action: 'approvals.allowOnce', description: 'allow once' },
  { keys: ['A'], context: 'details', action: 'approvals.allowAlways', description: 'allow always' },
  { keys: ['d'], context: 'details', action: 'approvals.denyOnce', description: 'deny once' },
  { keys: ['D'], context: 'details', action: 'approvals.denyAlways', description: 'deny always' },
];

/** In the details overlay, decisions apply to the approval shown and close the overlay. */
function inDetails(s: UiState, ctx: DispatchCtx): { ui: UiState; ctx: DispatchCtx } {
  const top = s.modes[s.modes.length - 1];
  if (top?.kind !== 'details') return { ui: s, ctx };
  const idx = ctx.pending.findIndex((p) => p.id === top.approvalId);
  const ui = { ...s, modes: s.modes.slice(0, -1), cursor: { ...s.cursor, approvals: Math.max(0, idx) } };
  return { ui, ctx: idx >= 0 ? ctx : { ...ctx, pending: [] } };
}

export const approvalsActions: Record<string, Handler> = {
  'approvals.allowOnce': (s, c) => {
    const { ui, ctx } = inDetails(s, c);
    return decideOnce(ui, ctx, 'allow');
  },
  'approvals.denyOnce': (s, c) => {
    const { ui, ctx } = inDetails(s, c);
    return decideOnce(ui, ctx, 'deny');
  },
  'approvals.allowAlways': (s, c) => {
    const { ui, ctx } = inDetails(s, c);
    return decideAlways(ui, ctx, 'allow');
  },
  'approvals.denyAlways': (s, c) => {
    const { ui, ctx } = inDetails(s, c);
    return decideAlways(ui, ctx, 'deny');
  },
  'approvals.details': (s, ctx) => {
    const p = selectedApproval(s, ctx);
    if (p === undefined) return ok(say(s, 'no pending approval selected', 'warn'));
    return ok(pushMode(s, { kind: 'details', approvalId: p.id }));
  },
};

export function approvalsRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return pendingRows(snapshot, ui).length;
}
