import type { UiState } from '../../input/types.ts';
import type { SandboxRow, TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, matchesFilter } from '../common.ts';

export function sandboxRows(snapshot: TuiSnapshot, ui: UiState): readonly SandboxRow[] {
  const f = activeFilter(ui, 'sandboxes');
  if (f === undefined || f.text === '') return snapshot.sandboxes;
  return snapshot.sandboxes.filter((s) => matchesFilter(`${s.name} ${s.state} ${s.blueprint}`, f));
}

/** Enter on a sandbox: show only its logs (Enter again on the same one shows all). */
export function selectSandbox(ui: UiState, name: string | undefined): UiState {
  if (name === undefined) return ui;
  const next = ui.sandbox === name ? null : name;
  return { ...ui, sandbox: next, message: { text: next === null ? 'logs: all sandboxes' : `logs: ${next}`, tone: 'info' } };
}
