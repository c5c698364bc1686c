import { describe, expect, it } from 'vitest';
import { cellWidth, fit, sanitize, truncate } from '../../src/tui/text/cells.ts';
import { fitLine, lineText } from '../../src/tui/text/line.ts';
import { chooseThemeName, loadThemes, parseTheme, TOKENS } from '../../src/tui/theme/theme.ts';
import { gauge, sparkline } from '../../src/tui/charts/sparkline.ts';
import { lineChart } from '../../src/tui/charts/line-chart.ts';

describe('themes/', () => {
  it('ships dark, light, high-contrast, ansi and no-colour with every semantic token', () => {
    const themes = loadThemes();
    expect([...themes.keys()].sort()).toEqual(['ansi', 'dark', 'high-contrast', 'light', 'no-colour']);
    for (const t of themes.values()) expect(Object.keys(t.tokens).sort()).toEqual([...TOKENS].sort());
    expect(Object.values(themes.get('no-colour')!.tokens).every((v) => v === null)).toBe(true);
    // The ANSI theme uses only the terminal's palette (names), never hex.
    expect(Object.values(themes.get('ansi')!.tokens).every((v) => v === null || !v.startsWith('#'))).toBe(true);
  });

  it('rejects unknown tokens and bad colours with the file name', () => {
    expect(() => parseTheme({ name: 'x', tokens: { bogus: 'red' } }, 'x.json')).toThrow(/x.json: unknown token "bogus"/);
    const tokens = Object.fromEntries(TOKENS.map((t) => [t, 'red']));
    expect(() => parseTheme({ name: 'x', tokens: { ...tokens, text: 'rgb(1,2,3)' } }, 'x.json')).toThrow(/token "text"/);
    expect(parseTheme({ name: 'x', tokens }, 'x.json').tokens.text).toBe('red');
  });

  it('honours NO_COLOR unless a theme was asked for explicitly', () => {
    expect(chooseThemeName(undefined, { NO_COLOR: '1' })).toBe('no-colour');
    expect(chooseThemeName(undefined, { NO_COLOR: '' })).toBe('ansi');
    expect(chooseThemeName(undefined, {})).toBe('ansi');
    expect(chooseThemeName('dark', { NO_COLOR: '1' })).toBe('dark');
  });
});

describe('cells and lines', () => {
  it('shows control characters and bidi overrides as visible escapes, so nothing can drive the terminal', () => {
    expect(sanitize('a\u001b[2Jb\u0007c\td\u009b\u202ee\nf')).toBe('a\\x1b[2Jb\\x07c d\\u009b\\u202ee\\nf');
  });
  it('counts wide characters as two cells and truncates with an ellipsis', () => {
    expect(cellWidth('日本')).toBe(4);
    expect(truncate('hello world', 5)).toBe('hell…');
    expect(truncate('日本語', 4)).toBe('日…');
    expect(fit('ab', 4)).toBe('ab  ');
    expect(cellWidth(fit('日本語テキスト', 7))).toBeLessThanOrEqual(7);
  });
  it('fitLine always gives exactly `width` cells', () => {
    for (let w = 0; w < 30; w++) {
      const l = fitLine([{ text: 'abc ' }, { text: 'x'.repeat(w), tone: 'warn' }, { text: '日本\u001b[31m' }], w);
      expect(cellWidth(lineText(l))).toBe(w);
    }
  });
});

describe('charts', () => {
  it('sparkline is exactly `width` cells', () => {
    expect(sparkline([0, 50, 100], 5, { min: 0, max: 100 })).toBe('  ▁▅█');
    expect(sparkline([0, 100], 2, { min: 0, max: 100, ascii: true })).toBe('_#');
    expect([...sparkline(Array.from({ length: 50 }, (_, i) => i), 10)]).toHaveLength(10);
  });
  it('gauge is exactly `width` cells', () => {
    for (const p of [0, 1, 33, 50, 99, 100, 150]) expect([...gauge(p, 10)]).toHaveLength(10);
    expect(gauge(50, 6, true)).toBe('[##  ]');
  });
  it('line chart fits its box', () => {
    const lines = lineChart([[0, 10, 90, 100, 40], [5, 5, 5]], 30, 6);
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(cellWidth(l)).toBeLessThanOrEqual(30);
    expect(lines.join('')).not.toContain('\u001b');
  });
});
