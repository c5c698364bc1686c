import type { UiState } from '../../input/types.ts';
import type { InferenceEvent, TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, matchesFilter, newestFirst } from '../common.ts';

/** Until the agent integration fills this pane with a conversation it lists inference calls. */
export function inferenceRows(snapshot: TuiSnapshot, ui: UiState): InferenceEvent[] {
  const f = activeFilter(ui, 'chat');
  const rows = newestFirst(snapshot.inference.items);
  return f === undefined || f.text === '' ? rows : rows.filter((r) => matchesFilter(`${r.sandbox} ${r.backend} ${r.model} ${r.decision}`, f));
}
