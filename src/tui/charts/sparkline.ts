// Pure string builders for small charts.

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;
const ASCII = ['_', '.', '-', '~', '=', '+', '*', '#'] as const;

/** The last `width` values as a one-line sparkline scaled to [min, max]; padded on the left. */
export function sparkline(values: readonly number[], width: number, opts: { min?: number; max?: number; ascii?: boolean } = {}): string {
  if (width <= 0) return '';
  const glyphs = opts.ascii === true ? ASCII : BLOCKS;
  const tail = values.slice(-width);
  const min = opts.min ?? Math.min(...tail, 0);
  const max = opts.max ?? Math.max(...tail, 1);
  const span = max - min || 1;
  let out = '';
  for (const v of tail) {
    const idx = Math.round(((Math.max(min, Math.min(max, v)) - min) / span) * (glyphs.length - 1));
    out += glyphs[idx];
  }
  return ' '.repeat(width - tail.length) + out;
}

/** A horizontal gauge `[█████▌    ]` of exactly `width` cells (brackets included). */
export function gauge(percent: number, width: number, ascii = false): string {
  if (width < 3) return '';
  const inner = width - 2;
  const p = Math.max(0, Math.min(100, percent)) / 100;
  const cells = p * inner;
  const full = Math.floor(cells);
  const eighths = ascii ? 0 : Math.round((cells - full) * 8);
  const partial = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'][eighths] ?? '';
  const body = (ascii ? '#' : '█').repeat(full) + (full < inner ? partial : '');
  const used = full + (full < inner && partial !== '' ? 1 : 0);
  return `[${body}${' '.repeat(Math.max(0, inner - used))}]`;
}
