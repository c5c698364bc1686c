// The UI state lives in a tiny external store too (so async effects, like a decision's result, can
// update it) and is read with useSyncExternalStore.
import { computeLayout, type LayoutName } from '../layout/layout.ts';
import type { PaneId } from '../layout/panes.ts';
import type { UiState } from './types.ts';

export function initialUiState(opts: { layout?: LayoutName; theme: string; focus?: PaneId }): UiState {
  return {
    layout: opts.layout ?? 'overview',
    focus: opts.focus ?? 'approvals',
    zoomed: null,
    hidden: [],
    adjust: {},
    modes: [],
    filters: {},
    cursor: {},
    paused: false,
    theme: opts.theme,
    showAllowed: false,
    sandbox: null,
    message: null,
  };
}

export class UiStore {
  #state: UiState;
  readonly #listeners = new Set<() => void>();
  constructor(initial: UiState) {
    this.#state = initial;
  }
  subscribe = (l: () => void): (() => void) => {
    this.#listeners.add(l);
    return () => {
      this.#listeners.delete(l);
    };
  };
  getSnapshot = (): UiState => this.#state;
  set(next: UiState): void {
    if (next === this.#state) return;
    this.#state = next;
    for (const l of [...this.#listeners]) l();
  }
  update(fn: (s: UiState) => UiState): void {
    this.set(fn(this.#state));
  }
}

/** Focus must stay on a visible pane (after layout changes or hiding). */
export function normaliseFocus(state: UiState, cols: number, rows: number): UiState {
  const layout = computeLayout({ preset: state.layout, cols, rows, zoomed: state.zoomed, hidden: state.hidden, adjust: state.adjust });
  if (layout.tooSmall || layout.panes.length === 0) return state;
  if (layout.panes.some((p) => p.id === state.focus)) return state;
  return { ...state, focus: layout.panes[0]?.id ?? state.focus };
}
