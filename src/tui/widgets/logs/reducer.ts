import type { UiState } from '../../input/types.ts';
import type { Collapsed } from '../../store/collapse.ts';
import type { LogEvent, TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, matchesFilter, newestFirst } from '../common.ts';

/** Newest first; only the selected sandbox when one is selected; filtered. */
export function logRows(snapshot: TuiSnapshot, ui: UiState): Collapsed<LogEvent>[] {
  const f = activeFilter(ui, 'logs');
  const out: Collapsed<LogEvent>[] = [];
  for (const r of newestFirst(snapshot.logs.items)) {
    if (ui.sandbox !== null && r.event.sandbox !== ui.sandbox) continue;
    if (f !== undefined && f.text !== '' && !matchesFilter(`${r.event.sandbox} ${r.event.line}`, f)) continue;
    out.push(r);
  }
  return out;
}
