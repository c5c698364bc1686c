// The contract every widget implements: a pure body (lines for a width x height area), an
// optional row count (for scrolling and selection), and its rows of the keymap.
import type { Handler, KeyBinding, UiState } from '../input/types.ts';
import type { TuiSnapshot } from '../store/tui-store.ts';
import type { Line } from '../text/line.ts';

export interface BodyProps {
  snapshot: TuiSnapshot;
  ui: UiState;
  width: number;
  height: number;
  now: number;
  focused: boolean;
  /** Plain ASCII glyphs instead of block/box characters. */
  ascii?: boolean;
}

export interface PaneBody {
  lines: Line[];
  /** Shown in the pane's bottom border (counts, drops, filter). */
  footer?: string;
}

export interface Widget {
  body(props: BodyProps): PaneBody;
  rowCount?(snapshot: TuiSnapshot, ui: UiState): number;
  keys: readonly KeyBinding[];
  actions: Readonly<Record<string, Handler>>;
}
