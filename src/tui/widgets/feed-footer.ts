import type { UiState } from '../input/types.ts';
import type { PaneId } from '../layout/panes.ts';
import { activeFilter } from './common.ts';

/** "12 rows · dropped 3 · filter !foo" for a feed pane's bottom border. */
export function feedFooter(ui: UiState, pane: PaneId, shown: number, dropped: number, extra: string[] = []): string {
  const parts = [...extra];
  const f = activeFilter(ui, pane);
  if (f !== undefined && f.text !== '') parts.push(`filter ${f.invert ? '!' : ''}${f.text}`);
  if (dropped > 0) parts.push(`dropped ${dropped}`);
  parts.push(`${shown}`);
  return parts.join(' · ');
}
