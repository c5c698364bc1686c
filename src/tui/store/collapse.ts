// Collapsing repeated events into counts. Pure: given the most recent entries and a new event,
// say whether it merges into one of them (and which) or is appended.

export interface Collapsed<E> {
  /** The first event of the run (its fields are what the row shows). */
  event: E;
  key: string;
  count: number;
  firstTs: number;
  lastTs: number;
}

export type CollapseResult<E> =
  | { kind: 'append'; entry: Collapsed<E> }
  /** `back` = position from the newest entry (0 = newest) that `entry` replaces. */
  | { kind: 'merge'; back: number; entry: Collapsed<E> };

export interface CollapseOptions {
  /** How many of the newest entries a repeat may merge into. 1 = consecutive repeats only. */
  window: number;
  /** A repeat older than this (ms since the entry's last occurrence) starts a new row. */
  maxGapMs: number;
}

export const defaultCollapseOptions: CollapseOptions = { window: 4, maxGapMs: 60_000 };

/**
 * `recent[0]` is the newest entry. Returns how `event` (with identity `key`, time `ts`) lands.
 */
export function collapse<E>(
  recent: readonly (Collapsed<E> | undefined)[],
  event: E,
  key: string,
  ts: number,
  options: CollapseOptions = defaultCollapseOptions,
): CollapseResult<E> {
  const limit = Math.min(options.window, recent.length);
  for (let back = 0; back < limit; back++) {
    const entry = recent[back];
    if (entry === undefined) break;
    if (entry.key === key && ts - entry.lastTs <= options.maxGapMs) {
      return { kind: 'merge', back, entry: { ...entry, count: entry.count + 1, lastTs: Math.max(entry.lastTs, ts) } };
    }
  }
  return { kind: 'append', entry: { event, key, count: 1, firstTs: ts, lastTs: ts } };
}
