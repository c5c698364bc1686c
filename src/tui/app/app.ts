// The root component. One useInput for the whole app feeds the dispatcher; data comes from the
// TuiStore (10 Hz snapshots) and the UI store through useSyncExternalStore; every pane is placed at
// the rectangle the pure layout function computed, inside a root box exactly the terminal's size.
import { Box, useInput, useStdin, useWindowSize } from 'ink';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { dispatch } from '../input/dispatcher.ts';
import { tokenize } from '../input/tokenize.ts';
import type { DispatchCtx, Effect, UiState } from '../input/types.ts';
import { normaliseFocus, type UiStore } from '../input/ui-state.ts';
import { computeLayout, type LayoutResult } from '../layout/layout.ts';
import { PANE_TITLES, paneNumber } from '../layout/panes.ts';
import type { TuiSnapshot, TuiStore } from '../store/tui-store.ts';
import { builtinNoColour, type Theme } from '../theme/theme.ts';
import { pendingRows } from '../widgets/approvals/reducer.ts';
import { activeFilter } from '../widgets/common.ts';
import { WIDGETS } from '../widgets/index.ts';
import { sandboxRows } from '../widgets/sandboxes/reducer.ts';
import { chatSandbox } from '../widgets/chat/reducer.ts';
import { typed } from '../widgets/chat/keys.ts';
import { ChatInput } from './chat-input.ts';
import { Frame } from './frame.ts';
import { h } from './h.ts';
import { LineView } from './line-view.ts';
import { modelRows } from '../widgets/models/reducer.ts';
import { ConfirmOverlay, DetailsOverlay, HelpOverlay, LearnOverlay, ModelLogsOverlay, SandboxOverlay, TooSmall } from './overlays.ts';
import { statusLine } from './status-bar.ts';

export interface AppProps {
  store: TuiStore;
  ui: UiStore;
  themes: ReadonlyMap<string, Theme>;
  onEffect: (effect: Effect) => void;
  ascii?: boolean;
  now?: () => number;
}

function useNow(now: () => number, everyMs: number): number {
  const [t, setT] = useState(now);
  useEffect(() => {
    const id = setInterval(() => setT(now()), everyMs);
    return () => clearInterval(id);
  }, [now, everyMs]);
  return t;
}

/** While paused the feeds stay as they were; approvals and sandboxes stay live (never decide on stale data). */
export function shownSnapshot(live: TuiSnapshot, frozen: TuiSnapshot, paused: boolean): TuiSnapshot {
  if (!paused) return live;
  return { ...frozen, pending: live.pending, decided: live.decided, sandboxes: live.sandboxes };
}

export function dispatchContext(snapshot: TuiSnapshot, ui: UiState, layout: LayoutResult, themes: readonly string[]): DispatchCtx {
  const rowCounts: DispatchCtx['rowCounts'] = {};
  for (const [id, w] of Object.entries(WIDGETS) as [keyof typeof WIDGETS, (typeof WIDGETS)[keyof typeof WIDGETS]][]) {
    if (w.rowCount !== undefined) rowCounts[id] = w.rowCount(snapshot, ui);
  }
  const focusRect = layout.panes.find((p) => p.id === ui.focus)?.rect;
  return {
    pending: pendingRows(snapshot, ui),
    rowCounts,
    visible: layout.panes.map((p) => p.id),
    themes,
    sandboxes: sandboxRows(snapshot, ui).map((s) => s.name),
    chatSandbox: chatSandbox(snapshot, ui),
    models: modelRows(snapshot, ui).map((m) => m.name),
    pageSize: Math.max(1, (focusRect?.height ?? 10) - 3),
  };
}

export function App({ store, ui: uiStore, themes, onEffect, ascii = false, now = Date.now }: AppProps) {
  const { columns, rows } = useWindowSize();
  const live = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const ui = useSyncExternalStore(uiStore.subscribe, uiStore.getSnapshot);
  const frozen = useRef(live);
  if (!ui.paused) frozen.current = live;
  const snapshot = shownSnapshot(live, frozen.current, ui.paused);
  const clock = useNow(now, 1000);
  const t = Math.max(clock, live.publishedAt);
  const theme = themes.get(ui.theme) ?? builtinNoColour;
  const layout = computeLayout({ preset: ui.layout, cols: columns, rows, zoomed: ui.zoomed, hidden: ui.hidden, adjust: ui.adjust });

  // The input handler reads the latest render's data through a ref (it may run between renders).
  const ctxRef = useRef<{ snapshot: TuiSnapshot; layout: LayoutResult }>({ snapshot, layout });
  ctxRef.current = { snapshot, layout };
  // Without a TTY on stdin (piped input) Ink cannot enter raw mode: render, but read no keys.
  const { isRawModeSupported } = useStdin();
  // A Ctrl-key while typing a chat message is the dispatcher's (Ctrl-X cancels the turn), never text.
  const ctrlKey = useRef(false);
  useInput((input, key) => {
    const tokens = tokenize(input, key);
    ctrlKey.current = key.ctrl === true || tokens.some((t) => t.startsWith('ctrl+'));
    if (tokens.length === 0) return;
    // The key's frame carries whatever events are waiting, and restarts the store's publish timer:
    // one frame instead of a key frame followed closely by a feed frame. Frames are the cost here
    // (each redraws the whole screen), and a feed frame drawing when the next key arrives is what
    // delays that key's frame. The key itself acts on what was on screen (ctxRef, below).
    store.flush();
    const state = uiStore.getSnapshot();
    const { snapshot: snap, layout: lay } = ctxRef.current;
    const r = dispatch(state, tokens, dispatchContext(snap, state, lay, [...themes.keys()]));
    uiStore.set(normaliseFocus(r.state, lay.screen.width, lay.screen.height));
    for (const e of r.effects) onEffect(e);
  }, { isActive: isRawModeSupported });

  const top = ui.modes[ui.modes.length - 1];
  if (layout.tooSmall) return h(TooSmall, { cols: columns, rows, theme, ...(top?.kind === 'confirm' ? { prompt: top.prompt } : {}) });

  const children = [];
  for (const { id, rect } of layout.panes) {
    const focused = id === ui.focus;
    const body = WIDGETS[id].body({ snapshot, ui, width: Math.max(0, rect.width - 2), height: Math.max(0, rect.height - 2), now: t, focused, ascii });
    const f = activeFilter(ui, id);
    const info = [ui.zoomed === id ? 'zoom' : '', f !== undefined && f.text !== '' ? `/${f.invert ? '!' : ''}${f.text}` : '', ui.paused && id !== 'approvals' && id !== 'sandboxes' ? 'paused' : ''].filter((s) => s !== '').join(' ');
    children.push(h(Frame, { key: id, rect, title: `${paneNumber(id)} ${PANE_TITLES[id]}`, info, footer: body.footer ?? '', focused, lines: body.lines, theme, ascii }));
  }
  if (layout.panes.length === 0) {
    children.push(h(Box, { key: 'empty', position: 'absolute', top: 0, left: 0 }, h(LineView, { line: [{ text: 'All panes hidden: X shows them again.' }], width: columns, theme })));
  }

  const screen = { x: 0, y: 0, width: columns, height: rows - 1 };
  if (top?.kind === 'help') children.push(h(HelpOverlay, { key: 'help', state: ui, screen, theme, ascii }));
  if (top?.kind === 'confirm') children.push(h(ConfirmOverlay, { key: 'confirm', prompt: top.prompt, ...(top.detail !== undefined ? { detail: top.detail } : {}), screen, theme, ascii }));
  if (top?.kind === 'sandbox') children.push(h(SandboxOverlay, { key: 'sandbox', sandbox: live.sandboxes.find((s) => s.name === top.name), now: t, screen, theme, ascii }));
  if (top?.kind === 'details') children.push(h(DetailsOverlay, { key: 'details', approval: live.pending.find((p) => p.id === top.approvalId), now: t, screen, theme, ascii }));
  if (top?.kind === 'learn') children.push(h(LearnOverlay, { key: 'learn', mode: top, screen, theme, ascii }));
  const chatRect = layout.panes.find((p) => p.id === 'chat')?.rect;
  if (top?.kind === 'chatInput' && chatRect !== undefined && isRawModeSupported) {
    // Both input handlers see a key; the text change is applied after both ran (a microtask), unless it came with Ctrl.
    const onChange = (text: string): void =>
      queueMicrotask(() => {
        if (!ctrlKey.current) uiStore.set(typed(uiStore.getSnapshot(), text));
      });
    children.push(h(ChatInput, { key: 'chat-input', rect: chatRect, value: top.text, onChange }));
  }
  if (top?.kind === 'modelLogs') children.push(h(ModelLogsOverlay, { key: 'modelLogs', mode: top, screen, theme, ascii }));

  const status = statusLine(ui, { pending: live.pending.length, pausedBehind: live.totalEvents - frozen.current.totalEvents, width: columns });
  children.push(h(Box, { key: 'status', position: 'absolute', top: layout.statusBar.y, left: 0, width: columns, height: 1 }, h(LineView, { line: status, width: columns, theme, bg: 'statusBg', ascii })));

  // Clipped vertically only: every row is already exactly `columns` wide (see Frame).
  return h(Box, { width: columns, height: rows, flexDirection: 'column', overflowY: 'hidden' }, ...children);
}
