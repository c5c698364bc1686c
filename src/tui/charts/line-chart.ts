// Multi-row line chart through asciichart, sized to a pane: exactly `height` rows, each at most
// `width` cells. No asciichart colours (they would bypass the theme and NO_COLOR).
import { createRequire } from 'node:module';

interface PlotConfig {
  height?: number;
  min?: number;
  max?: number;
  offset?: number;
  padding?: string;
  format?: (x: number, i: number) => string;
}
interface AsciiChart {
  plot(series: number[] | number[][], config?: PlotConfig): string;
}

const asciichart = createRequire(import.meta.url)('asciichart') as AsciiChart;

/** Label width used by `lineChart` ("100" plus the axis). */
const LABEL = 4;

export function lineChart(series: readonly (readonly number[])[], width: number, height: number, range: { min: number; max: number } = { min: 0, max: 100 }): string[] {
  if (height < 2 || width < LABEL + 4) return [];
  const points = width - LABEL - 1;
  const data = series.map((s) => {
    const tail = s.slice(-points);
    return tail.length === 0 ? [range.min] : tail.map((v) => Math.max(range.min, Math.min(range.max, v)));
  });
  const text = asciichart.plot(data.length === 1 ? (data[0] as number[]) : data, {
    height: height - 1,
    min: range.min,
    max: range.max,
    format: (x) => String(Math.round(x)).padStart(3),
  });
  return text.split('\n').slice(0, height);
}
