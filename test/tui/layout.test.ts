import { describe, expect, it } from 'vitest';
import { computeLayout, LAYOUT_NAMES, MIN_COLS, MIN_ROWS, presetPanes, split, type Rect } from '../../src/tui/layout/layout.ts';
import { PANES, type PaneId } from '../../src/tui/layout/panes.ts';

const SIZES: [number, number][] = [
  [80, 24],
  [81, 25],
  [100, 30],
  [120, 40],
  [200, 60],
  [333, 101],
];

function inside(r: Rect, cols: number, rows: number): boolean {
  return r.x >= 0 && r.y >= 0 && r.width > 0 && r.height > 0 && r.x + r.width <= cols && r.y + r.height <= rows - 1;
}
function overlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

describe('split', () => {
  it('always sums to the total and honours minimums when there is room', () => {
    for (let total = 0; total < 120; total++) {
      for (const w of [[1], [1, 1], [2, 3], [1, 1, 1], [5, 1, 1, 1], [0, 0]]) {
        const s = split(total, w, 3);
        expect(s.reduce((a, b) => a + b, 0)).toBe(total);
        if (total >= 3 * w.length) expect(Math.min(...s)).toBeGreaterThanOrEqual(3);
      }
    }
  });
});

describe('computeLayout', () => {
  it('says "too small" below 80x24 and lays out nothing', () => {
    for (const [c, r] of [[79, 24], [80, 23], [40, 10], [0, 0]] as const) {
      const l = computeLayout({ preset: 'overview', cols: c, rows: r });
      expect(l.tooSmall).toBe(true);
      expect(l.panes).toEqual([]);
    }
    expect(computeLayout({ preset: 'overview', cols: MIN_COLS, rows: MIN_ROWS }).tooSmall).toBe(false);
  });

  const hiddenSets: PaneId[][] = [[], ['gpu'], ['approvals', 'logs', 'chat'], ['sandboxes', 'egress', 'audit', 'syscalls']];
  const adjusts = [{}, { approvals: { dw: 6, dh: 6 } }, { sandboxes: { dw: -3, dh: -3 }, logs: { dw: 6, dh: 2 } }];

  it('keeps every rectangle inside the screen, above the status bar, without overlaps, covering the area', () => {
    for (const preset of LAYOUT_NAMES) {
      for (const [cols, rows] of SIZES) {
        for (const hidden of hiddenSets) {
          for (const adjust of adjusts) {
            const l = computeLayout({ preset, cols, rows, hidden, adjust });
            const where = `${preset} ${cols}x${rows} hidden=${hidden.join(',')} adjust=${JSON.stringify(adjust)}`;
            expect(l.statusBar, where).toEqual({ x: 0, y: rows - 1, width: cols, height: 1 });
            for (const p of l.panes) {
              expect(inside(p.rect, cols, rows), `${where}: ${p.id} ${JSON.stringify(p.rect)}`).toBe(true);
              expect(p.rect.width, where).toBeGreaterThanOrEqual(12);
              expect(p.rect.height, where).toBeGreaterThanOrEqual(3);
            }
            for (let i = 0; i < l.panes.length; i++) for (let j = i + 1; j < l.panes.length; j++) expect(overlap(l.panes[i]!.rect, l.panes[j]!.rect), where).toBe(false);
            const area = l.panes.reduce((n, p) => n + p.rect.width * p.rect.height, 0);
            if (l.panes.length > 0) expect(area, where).toBe(cols * (rows - 1));
            expect(new Set(l.panes.map((p) => p.id))).toEqual(new Set(presetPanes(preset).filter((p) => !hidden.includes(p))));
          }
        }
      }
    }
  });

  it('zoom gives one pane the whole area', () => {
    const l = computeLayout({ preset: 'overview', cols: 120, rows: 40, zoomed: 'logs' });
    expect(l.panes).toEqual([{ id: 'logs', rect: { x: 0, y: 0, width: 120, height: 39 } }]);
  });

  it('the overview shows every pane but Models (monitoring shows it, 9 opens it); presets differ in what comes first', () => {
    // At 80x24 a ninth pane in the overview squeezes the approvals out of a readable width.
    expect(new Set(presetPanes('overview'))).toEqual(new Set(PANES.filter((p) => p !== 'models')));
    expect(presetPanes('monitoring')).toContain('models');
    expect(presetPanes('approvals-first')[0]).toBe('approvals');
    expect(presetPanes('monitoring')[0]).toBe('gpu');
  });

  it('resize keys make the focused pane bigger', () => {
    const base = computeLayout({ preset: 'overview', cols: 120, rows: 40 });
    const wider = computeLayout({ preset: 'overview', cols: 120, rows: 40, adjust: { approvals: { dw: 2, dh: 2 } } });
    const w = (l: typeof base): Rect => l.panes.find((p) => p.id === 'approvals')!.rect;
    expect(w(wider).width).toBeGreaterThan(w(base).width);
    expect(w(wider).height).toBeGreaterThan(w(base).height);
  });
});
