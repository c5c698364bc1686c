// Helpers shared by the widgets: filtering, scrolling windows, compact number/time formats.
import type { PaneFilter, UiState } from '../input/types.ts';
import type { PaneId } from '../layout/panes.ts';
import type { Line } from '../text/line.ts';

export function matchesFilter(text: string, filter: PaneFilter | undefined): boolean {
  if (filter === undefined || filter.text === '') return true;
  const hit = text.toLowerCase().includes(filter.text.toLowerCase());
  return filter.invert ? !hit : hit;
}

/** `/text` filters, `/!text` inverts. */
export function parseFilter(text: string): PaneFilter {
  return text.startsWith('!') ? { text: text.slice(1), invert: true } : { text, invert: false };
}

/** The filter in effect for a pane: the one being typed (live preview) or the saved one. */
export function activeFilter(ui: UiState, pane: PaneId): PaneFilter | undefined {
  const top = ui.modes[ui.modes.length - 1];
  if (top?.kind === 'filter' && top.pane === pane) return parseFilter(top.text);
  return ui.filters[pane];
}

export function newestFirst<T>(items: readonly T[]): T[] {
  const out: T[] = new Array<T>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = items[items.length - 1 - i] as T;
  return out;
}

export function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}

/** The slice of `count` rows starting at `top` that keeps `cursor` visible in `height` rows. */
export function windowStart(cursor: number, height: number, count: number): number {
  if (height <= 0 || count <= height) return 0;
  const c = clamp(cursor, 0, count - 1);
  return clamp(c - Math.floor(height / 2), 0, count - height);
}

/**
 * A feed pane's visible rows: from the cursor (newest first, so the cursor is the scroll offset)
 * down to `height` lines, or the `empty` line when there are none. Returns the lines and that offset.
 */
export function feedWindow<R>(rows: readonly R[], cursor: number | undefined, height: number, empty: Line, render: (row: R) => Line): { lines: Line[]; top: number } {
  const lines: Line[] = [];
  if (rows.length === 0) lines.push(empty);
  const top = clamp(cursor ?? 0, 0, Math.max(0, rows.length - 1));
  for (let i = top; i < rows.length && lines.length < height; i++) lines.push(render(rows[i] as R));
  return { lines, top };
}

export function hhmmss(ts: number): string {
  const d = new Date(ts);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d`;
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

export function count(n: number): string {
  return n > 1 ? ` ×${n}` : '';
}

export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Feeds show a time column only when the pane is wide enough for the rest of the row. */
export function showTime(width: number): boolean {
  return width >= 44;
}
