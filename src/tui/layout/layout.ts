// Pure layout: preset + terminal size + zoom/hidden/size adjustments -> rectangles. Every rectangle
// lies inside the screen, none overlap, and the status bar takes the last row.
import { PANES, type PaneId } from './panes.ts';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const MIN_COLS = 80;
export const MIN_ROWS = 24;
/** Smallest pane: a border and one line, a title that says what it is. */
export const MIN_PANE_WIDTH = 12;
export const MIN_PANE_HEIGHT = 3;

interface PresetRow {
  weight: number;
  panes: readonly { id: PaneId; weight: number }[];
}

export const PRESETS = {
  overview: [
    { weight: 2, panes: [{ id: 'sandboxes', weight: 2 }, { id: 'approvals', weight: 3 }] },
    { weight: 3, panes: [{ id: 'syscalls', weight: 1 }, { id: 'egress', weight: 1 }, { id: 'audit', weight: 1 }] },
    { weight: 3, panes: [{ id: 'gpu', weight: 2 }, { id: 'logs', weight: 2 }, { id: 'chat', weight: 1 }] },
  ],
  'approvals-first': [
    { weight: 4, panes: [{ id: 'approvals', weight: 3 }, { id: 'sandboxes', weight: 2 }] },
    { weight: 3, panes: [{ id: 'egress', weight: 1 }, { id: 'syscalls', weight: 1 }] },
    { weight: 2, panes: [{ id: 'logs', weight: 2 }, { id: 'audit', weight: 1 }] },
  ],
  monitoring: [
    { weight: 4, panes: [{ id: 'gpu', weight: 3 }, { id: 'models', weight: 3 }, { id: 'sandboxes', weight: 2 }] },
    { weight: 3, panes: [{ id: 'logs', weight: 2 }, { id: 'egress', weight: 1 }, { id: 'syscalls', weight: 1 }] },
    { weight: 2, panes: [{ id: 'approvals', weight: 1 }, { id: 'audit', weight: 1 }, { id: 'chat', weight: 1 }] },
  ],
} as const satisfies Record<string, readonly PresetRow[]>;

export type LayoutName = keyof typeof PRESETS;
export const LAYOUT_NAMES = Object.keys(PRESETS) as LayoutName[];

export function isLayoutName(s: string): s is LayoutName {
  return Object.hasOwn(PRESETS, s);
}

/** Size steps applied with the resize keys: each step is 25% of the pane's base weight. */
export interface SizeAdjust {
  dw: number;
  dh: number;
}
export const MAX_ADJUST = 6;

export interface LayoutInput {
  preset: LayoutName;
  cols: number;
  rows: number;
  zoomed?: PaneId | null;
  hidden?: readonly PaneId[];
  adjust?: Partial<Record<PaneId, SizeAdjust>>;
}

export interface LayoutResult {
  tooSmall: boolean;
  screen: Rect;
  /** In drawing order (rows top to bottom, left to right). */
  panes: { id: PaneId; rect: Rect }[];
  statusBar: Rect;
}

/**
 * Split `total` cells among `weights`, each at least `min` when there is room: the sizes always
 * sum to exactly `total` (largest remainder), so nothing overflows and nothing is left unpainted.
 */
export function split(total: number, weights: readonly number[], min: number): number[] {
  const n = weights.length;
  if (n === 0) return [];
  if (total <= 0) return weights.map(() => 0);
  const floor = total >= n * min ? min : Math.floor(total / n);
  const spare = total - floor * n;
  const ws = weights.map((w) => Math.max(0, w));
  const sum = ws.reduce((a, b) => a + b, 0);
  const exact = ws.map((w) => (sum > 0 ? (w / sum) * spare : spare / n));
  const sizes = exact.map((e) => floor + Math.floor(e));
  let left = total - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % n, left--) {
    const i = (order[k] as { i: number }).i;
    sizes[i] = (sizes[i] ?? 0) + 1;
  }
  return sizes;
}

function scale(weight: number, steps: number | undefined): number {
  const s = Math.max(-MAX_ADJUST / 2, Math.min(MAX_ADJUST, steps ?? 0));
  return weight * (1 + s * 0.25);
}

/** Panes that a preset shows (before hiding). */
export function presetPanes(preset: LayoutName): PaneId[] {
  return PRESETS[preset].flatMap((r) => r.panes.map((p) => p.id));
}

export function computeLayout(input: LayoutInput): LayoutResult {
  const cols = Math.max(0, Math.floor(input.cols));
  const rows = Math.max(0, Math.floor(input.rows));
  const screen: Rect = { x: 0, y: 0, width: cols, height: rows };
  if (cols < MIN_COLS || rows < MIN_ROWS) return { tooSmall: true, screen, panes: [], statusBar: { x: 0, y: Math.max(0, rows - 1), width: cols, height: rows > 0 ? 1 : 0 } };
  const statusBar: Rect = { x: 0, y: rows - 1, width: cols, height: 1 };
  const area: Rect = { x: 0, y: 0, width: cols, height: rows - 1 };

  if (input.zoomed !== undefined && input.zoomed !== null) {
    return { tooSmall: false, screen, statusBar, panes: [{ id: input.zoomed, rect: area }] };
  }

  const hidden = new Set(input.hidden ?? []);
  const adjust = input.adjust ?? {};
  const rowsSpec = PRESETS[input.preset]
    .map((r) => ({ weight: r.weight, panes: r.panes.filter((p) => !hidden.has(p.id)) }))
    .filter((r) => r.panes.length > 0);
  if (rowsSpec.length === 0) return { tooSmall: false, screen, statusBar, panes: [] };

  // A row grows when any of its panes was made taller.
  const rowWeights = rowsSpec.map((r) => scale(r.weight, Math.max(...r.panes.map((p) => adjust[p.id]?.dh ?? 0))));
  const heights = split(area.height, rowWeights, MIN_PANE_HEIGHT);
  const panes: { id: PaneId; rect: Rect }[] = [];
  let y = area.y;
  rowsSpec.forEach((r, ri) => {
    const h = heights[ri] ?? 0;
    const widths = split(area.width, r.panes.map((p) => scale(p.weight, adjust[p.id]?.dw)), MIN_PANE_WIDTH);
    let x = area.x;
    r.panes.forEach((p, pi) => {
      const w = widths[pi] ?? 0;
      if (w > 0 && h > 0) panes.push({ id: p.id, rect: { x, y, width: w, height: h } });
      x += w;
    });
    y += h;
  });
  return { tooSmall: false, screen, statusBar, panes };
}

/** Focus order: the visible panes in drawing order, then nothing else. */
export function focusOrder(layout: LayoutResult): PaneId[] {
  return layout.panes.map((p) => p.id);
}

export const ALL_PANES = PANES;
