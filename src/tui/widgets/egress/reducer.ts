import type { UiState } from '../../input/types.ts';
import type { Collapsed } from '../../store/collapse.ts';
import type { EgressEvent, TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, matchesFilter, newestFirst } from '../common.ts';

export function egressText(e: EgressEvent): string {
  return `${e.type === 'egress_denied' ? 'denied' : 'allowed'} ${e.sandbox} ${e.binary} ${e.host}:${e.port} ${e.rule}`;
}

/** Newest first; denied only unless `showAllowed`; filtered. */
export function egressRows(snapshot: TuiSnapshot, ui: UiState): Collapsed<EgressEvent>[] {
  const f = activeFilter(ui, 'egress');
  const out: Collapsed<EgressEvent>[] = [];
  for (const r of newestFirst(snapshot.egress.items)) {
    if (!ui.showAllowed && r.event.type === 'egress_allowed') continue;
    if (f !== undefined && f.text !== '' && !matchesFilter(egressText(r.event), f)) continue;
    out.push(r);
  }
  return out;
}

export function toggleAllowed(ui: UiState): UiState {
  const showAllowed = !ui.showAllowed;
  return { ...ui, showAllowed, message: { text: showAllowed ? 'egress: denied and allowed' : 'egress: denied only', tone: 'info' } };
}
