// UI state, effects and key-binding types shared by the dispatcher, the keymap and the widgets.
import type { LayoutName, SizeAdjust } from '../layout/layout.ts';
import type { PaneId } from '../layout/panes.ts';
import type { LearnProposal, PendingApproval, Verdict } from '../store/events.ts';

export interface PaneFilter {
  text: string;
  invert: boolean;
}

export type ConfirmAction = { type: 'decide'; id: string; verdict: Verdict; always: boolean } | { type: 'quit' } | { type: 'model'; name: string; action: ModelAction };

/** What the Models pane's confirmed keys do to a model container. */
export type ModelAction = 'stop' | 'restart';

/** Modes stack on top of normal navigation; Esc pops one. */
export type Mode =
  | { kind: 'help'; scroll: number }
  | { kind: 'filter'; pane: PaneId; text: string }
  | { kind: 'command'; text: string }
  | { kind: 'confirm'; action: ConfirmAction; prompt: string; detail?: string }
  | { kind: 'details'; approvalId: string }
  | { kind: 'sandbox'; name: string }
  /** "Learn from the last N minutes": the proposed diff, shown before anything is written. */
  | { kind: 'learn'; sandbox: string; minutes: number; status: 'loading' | 'ready' | 'error'; proposal: LearnProposal | null; error: string | null; scroll: number }
  /** A model's recent log lines (Models pane, l or Enter). */
  /** Typing to a sandbox's agent (ink-text-input holds the keys; the dispatcher only Enter, Esc, Ctrl-X). */
  | { kind: 'chatInput'; sandbox: string; text: string }
  | { kind: 'modelLogs'; name: string; status: 'loading' | 'ready' | 'error'; lines: readonly string[]; error: string | null; scroll: number };

export interface UiMessage {
  text: string;
  tone: 'info' | 'ok' | 'warn' | 'error';
}

export interface UiState {
  layout: LayoutName;
  focus: PaneId;
  zoomed: PaneId | null;
  hidden: readonly PaneId[];
  adjust: Partial<Record<PaneId, SizeAdjust>>;
  modes: readonly Mode[];
  filters: Partial<Record<PaneId, PaneFilter>>;
  /** Approvals: selected row. Feeds: rows scrolled away from the newest. */
  cursor: Partial<Record<PaneId, number>>;
  paused: boolean;
  theme: string;
  /** Egress pane shows allowed connections too. */
  showAllowed: boolean;
  /** Logs pane shows only this sandbox (null = all). */
  sandbox: string | null;
  message: UiMessage | null;
}

export type Effect =
  | { type: 'decide'; id: string; verdict: Verdict; always: boolean }
  /** Repaint the whole screen (Ctrl-L: after something else wrote over it). */
  | { type: 'redraw' }
  /** Ask the source for a learning proposal (the answer comes back through learnArrived). */
  | { type: 'learn'; sandbox: string; minutes: number }
  /** Write a reviewed proposal as the sandbox's next revision. */
  | { type: 'applyLearned'; proposal: LearnProposal }
  /** Models pane: fetch a model's recent log lines (the answer comes back through modelLogsArrived). */
  | { type: 'modelLogs'; name: string }
  /** Models pane: stop or restart a model container (after y). */
  | { type: 'modelAction'; name: string; action: ModelAction }
  /** Send a chat message to a sandbox's agent (a turn through the supervisor). */
  | { type: 'chatSend'; sandbox: string; message: string }
  /** Cancel the sandbox's turn in progress. */
  | { type: 'chatCancel'; sandbox: string }
  | { type: 'quit' };

/** What key handlers may read about the data (derived from the shown snapshot). */
export interface DispatchCtx {
  /** Pending approvals as the approvals pane lists them (after its filter). */
  pending: readonly PendingApproval[];
  /** Number of rows each list pane has after filtering. */
  rowCounts: Partial<Record<PaneId, number>>;
  /** Visible panes in focus order. */
  visible: readonly PaneId[];
  themes: readonly string[];
  sandboxes: readonly string[];
  /** Model names as the Models pane lists them (after its filter). */
  models?: readonly string[];
  /** The sandbox the Agent chat pane follows (null: none). */
  chatSandbox?: string | null;
  /** Rows a page-up/down moves. */
  pageSize: number;
}

export interface Result {
  state: UiState;
  effects: Effect[];
}

export type Handler = (state: UiState, ctx: DispatchCtx) => Result;

export type Context = 'global' | PaneId | 'help' | 'confirm' | 'command' | 'filter' | 'details' | 'sandbox' | 'learn' | 'modelLogs' | 'chatInput';

/** One row of the keymap table. The help overlay is generated from these rows. */
export interface KeyBinding {
  /** Key tokens: 'a', 'A', '?', 'enter', 'escape', 'tab', 'shift+tab', 'up', 'ctrl+c', … */
  keys: readonly string[];
  context: Context;
  /** Name of the handler in the action registry. */
  action: string;
  description: string;
}

export function ok(state: UiState, effects: Effect[] = []): Result {
  return { state, effects };
}

export function topMode(state: UiState): Mode | undefined {
  return state.modes[state.modes.length - 1];
}

export function pushMode(state: UiState, mode: Mode): UiState {
  return { ...state, modes: [...state.modes, mode] };
}

export function popMode(state: UiState): UiState {
  return { ...state, modes: state.modes.slice(0, -1) };
}

export function replaceTop(state: UiState, mode: Mode): UiState {
  return { ...state, modes: [...state.modes.slice(0, -1), mode] };
}

export function say(state: UiState, text: string, tone: UiMessage['tone'] = 'info'): UiState {
  return { ...state, message: { text, tone } };
}
