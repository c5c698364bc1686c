import type { UiState } from '../../input/types.ts';
import type { AuditEvent, TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, matchesFilter, newestFirst } from '../common.ts';

export function auditRows(snapshot: TuiSnapshot, ui: UiState): AuditEvent[] {
  const f = activeFilter(ui, 'audit');
  const rows = newestFirst(snapshot.audit.items);
  return f === undefined || f.text === '' ? rows : rows.filter((r) => matchesFilter(`${r.kind} ${r.summary}`, f));
}
