import type { UiState } from '../../input/types.ts';
import type { Collapsed } from '../../store/collapse.ts';
import type { SyscallEvent, TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, matchesFilter, newestFirst } from '../common.ts';

export function syscallText(e: SyscallEvent): string {
  return e.type === 'syscall_denied' ? `${e.sandbox} ${e.binary} ${e.syscall} ${e.rule}` : `${e.sandbox} ${e.binary} exec ${e.path} ${e.rule}`;
}

/** Newest first, filtered. */
export function syscallRows(snapshot: TuiSnapshot, ui: UiState): Collapsed<SyscallEvent>[] {
  const f = activeFilter(ui, 'syscalls');
  const rows = newestFirst(snapshot.syscalls.items);
  return f === undefined || f.text === '' ? rows : rows.filter((r) => matchesFilter(syscallText(r.event), f));
}
