// startTui / runTui: wire a TuiDataSource (and local telemetry) into the store, render the app
// full screen, and restore the terminal however it ends (quit, SIGTERM/SIGHUP/SIGINT, crash).
import { render, type Instance } from 'ink';
import { startGpuMonitor, startHostMonitor, withOwners, type GpuMonitor, type HostMonitor } from '../telemetry/index.ts';
import { App } from './app/app.ts';
import { h } from './app/h.ts';
import type { Effect } from './input/types.ts';
import { initialUiState, UiStore } from './input/ui-state.ts';
import { LAYOUT_NAMES, isLayoutName, type LayoutName, type SizeAdjust } from './layout/layout.ts';
import { isPaneId, type PaneId } from './layout/panes.ts';
import type { TuiDataSource, TuiEvent } from './store/events.ts';
import { TuiStore, type TuiStoreOptions } from './store/tui-store.ts';
import { builtinNoColour, chooseThemeName, loadThemes, NO_COLOUR_THEME, type Theme } from './theme/theme.ts';
import { ModelsFeed } from './source/models-source.ts';
import { learnApplied, learnArrived } from './widgets/learn/reducer.ts';
import { LOG_LINES, modelLogsArrived, modelsPaneShown } from './widgets/models/reducer.ts';

export interface TelemetryOptions {
  /** nvidia-smi to run (default $NEMOCLAW_NVIDIA_SMI, then `nvidia-smi`). */
  nvidiaSmi?: string;
  gpuIntervalMs?: number;
  hostIntervalMs?: number;
}

export interface RunTuiOptions {
  source: TuiDataSource;
  /** Theme name from themes/; default: no-colour when NO_COLOR is set, else ansi. */
  theme?: string;
  layout?: LayoutName;
  /** Saved preferences to start from (hidden panes, size adjustments); see onPreferences. */
  preferences?: Partial<TuiPreferences>;
  /** Called when the operator changes layout, theme, hidden panes or sizes, so the caller can save them to the config. */
  onPreferences?: (prefs: TuiPreferences) => void;
  /** Local GPU/host telemetry (default on). The supervisor may instead send gpu_sample/host_sample events. */
  telemetry?: boolean | TelemetryOptions;
  /** ASCII borders and charts (for terminals/fonts without box drawing). */
  ascii?: boolean;
  /** The Models pane's feed (default on: loaded when the pane is first shown); home defaults to NEMOCLAW_HOME. */
  models?: boolean | { home?: string; pollMs?: number };
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  /** Use the alternate screen (default: when stdout is a TTY). */
  alternateScreen?: boolean;
  /** Install SIGTERM/SIGHUP/SIGINT and uncaught-exception handlers that restore the terminal (default true). */
  handleProcessEvents?: boolean;
  /** Route console.* into the Logs pane while the TUI runs (default true): stray prints would corrupt the screen. */
  captureConsole?: boolean;
  store?: TuiStoreOptions;
  themesDir?: string;
  maxFps?: number;
  now?: () => number;
}

/** What is worth saving to the config between runs. */
export interface TuiPreferences {
  layout: LayoutName;
  theme: string;
  hidden: readonly PaneId[];
  adjust: Partial<Record<PaneId, SizeAdjust>>;
}

export type TuiExit = { reason: 'quit' } | { reason: 'signal'; signal: NodeJS.Signals } | { reason: 'error'; error: unknown };

export interface TuiHandle {
  store: TuiStore;
  ui: UiStore;
  /** Resolves once the app has unmounted and the terminal is restored. */
  exited: Promise<TuiExit>;
  /** Quit programmatically. */
  quit(): void;
}

/** Leave the alternate screen, show the cursor, turn autowrap back on. Safe to write twice. */
export const RESTORE_SEQUENCE = '\u001b[?1049l\u001b[?25h\u001b[?7h';

export function startTui(options: RunTuiOptions): TuiHandle {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const stderr = options.stderr ?? process.stderr;
  const isTTY = Boolean(stdout.isTTY);
  const alt = options.alternateScreen ?? isTTY;
  const now = options.now ?? Date.now;

  let themes: Map<string, Theme>;
  try {
    themes = loadThemes(options.themesDir);
  } catch (err) {
    themes = new Map([[NO_COLOUR_THEME, builtinNoColour]]);
    stderr.write(`nemoclaw tui: themes not loaded (${err instanceof Error ? err.message : String(err)}); using no-colour\n`);
  }
  if (!themes.has(NO_COLOUR_THEME)) themes.set(NO_COLOUR_THEME, builtinNoColour);
  const prefs = options.preferences ?? {};
  let themeName = chooseThemeName(options.theme ?? prefs.theme);
  if (!themes.has(themeName)) themeName = themes.has('ansi') ? 'ansi' : NO_COLOUR_THEME;
  const wanted = options.layout ?? prefs.layout;
  const layout = wanted !== undefined && isLayoutName(wanted) ? wanted : LAYOUT_NAMES[0];

  const store = new TuiStore({ ...options.store, now });
  const ui = new UiStore({
    ...initialUiState({ theme: themeName, ...(layout !== undefined ? { layout } : {}) }),
    hidden: (prefs.hidden ?? []).filter(isPaneId),
    adjust: prefs.adjust ?? {},
  });
  const onPreferences = options.onPreferences;
  let savedPrefs = ui.getSnapshot();
  const stopPrefs =
    onPreferences === undefined
      ? () => {}
      : ui.subscribe(() => {
          const s = ui.getSnapshot();
          if (s.layout === savedPrefs.layout && s.theme === savedPrefs.theme && s.hidden === savedPrefs.hidden && s.adjust === savedPrefs.adjust) return;
          savedPrefs = s;
          onPreferences({ layout: s.layout, theme: s.theme, hidden: s.hidden, adjust: s.adjust });
        });
  const ingest = (e: TuiEvent): void => store.ingest(e);

  // Data source: subscribe first (miss nothing), then seed sandboxes the stream has not mentioned.
  const seen = new Set<string>();
  const stopEvents = options.source.events((e) => {
    if (e.type === 'sandbox_state') seen.add(e.sandbox.name);
    ingest(e);
  });
  options.source.sandboxes().then(
    (list) => {
      for (const s of list) if (!seen.has(s.name)) ingest({ type: 'sandbox_state', ts: now(), sandbox: s });
    },
    (err: unknown) => ingest({ type: 'log', ts: now(), sandbox: 'nemoclaw', stream: 'system', line: `sandboxes: ${err instanceof Error ? err.message : String(err)}` }),
  );

  // Models: dockerode is loaded when the pane is first shown (or a GPU process is in a container),
  // never at start-up.
  const modelsOpt = options.models ?? true;
  const models = modelsOpt === false ? null : new ModelsFeed({ ingest, now, ...(typeof modelsOpt === 'object' ? modelsOpt : {}) });
  const needModels = (): void => {
    if (models !== null && !models.started) void models.start();
  };
  const stopModelsTrigger = ui.subscribe(() => {
    if (modelsPaneShown(ui.getSnapshot())) needModels();
  });

  // Telemetry, off the render path.
  let gpu: GpuMonitor | undefined;
  let host: HostMonitor | undefined;
  if (options.telemetry !== false) {
    const t = typeof options.telemetry === 'object' ? options.telemetry : {};
    gpu = startGpuMonitor({
      ...(t.nvidiaSmi !== undefined ? { command: t.nvidiaSmi } : {}),
      intervalMs: t.gpuIntervalMs ?? 1000,
      onSample: (gpus) => ingest({ type: 'gpu_sample', ts: now(), gpus }),
      // Each GPU pid's owner, from /proc (src/telemetry/owner.ts): a model container, another container, a sandbox, the host.
      onProcesses: (processes) => {
        const owned = withOwners(processes, { models: models?.rows ?? [], sandboxes: store.getSnapshot().sandboxes });
        if (owned.some((p) => p.owner?.kind === 'container')) needModels();
        ingest({ type: 'gpu_processes', ts: now(), processes: owned });
      },
      onStatus: (status) => ingest({ type: 'gpu_status', ts: now(), status }),
      now,
    });
    host = startHostMonitor({ intervalMs: t.hostIntervalMs ?? 1000, onSample: (sample) => ingest({ type: 'host_sample', ts: now(), sample }), now });
  }

  // console.* would write over the screen: send it to the Logs pane instead.
  const restoreConsole = options.captureConsole === false ? () => {} : captureConsole(ingest, now);

  let resolveExit!: (e: TuiExit) => void;
  const exited = new Promise<TuiExit>((r) => {
    resolveExit = r;
  });
  let finished = false;
  const ink: { instance?: Instance } = {};
  const offs: (() => void)[] = [];

  const finish = (exit: TuiExit): void => {
    if (finished) return;
    finished = true;
    stopEvents();
    stopPrefs();
    stopModelsTrigger();
    models?.stop();
    gpu?.stop();
    host?.stop();
    store.dispose();
    try {
      ink.instance?.unmount();
    } catch {
      // fall through to the raw restore below
    }
    restoreConsole();
    if (exit.reason !== 'quit' && alt && isTTY) stdout.write(RESTORE_SEQUENCE);
    // Our signal handlers stay until the app is gone: removing them while a signal is being
    // dispatched would let signal-exit (Ink's) re-raise it and kill the process mid-restore.
    const done = (): void => {
      for (const off of offs) off();
      resolveExit(exit);
    };
    if (ink.instance !== undefined) ink.instance.waitUntilExit().then(done, done);
    else done();
  };

  const onEffect = (e: Effect): void => {
    if (e.type === 'quit') {
      finish({ reason: 'quit' });
      return;
    }
    if (e.type === 'redraw') {
      // Forget what Ink thinks is on the screen, then render again: every row is rewritten.
      ink.instance?.clear();
      ui.update((s) => ({ ...s }));
      return;
    }
    if (e.type === 'learn') {
      // The proposal is the supervisor's (it reads the audit log); it comes back into the overlay.
      const src = options.source;
      const ask = src.learn?.bind(src) ?? (async () => ({ ok: false as const, error: 'this source cannot propose revisions (no supervisor)' }));
      ask(e.sandbox, e.minutes).then(
        (r) => ui.update((s) => learnArrived(s, e.sandbox, e.minutes, r)),
        (err: unknown) => ui.update((s) => learnArrived(s, e.sandbox, e.minutes, { ok: false, error: err instanceof Error ? err.message : String(err) })),
      );
      return;
    }
    if (e.type === 'applyLearned') {
      const src = options.source;
      const write = src.applyLearned?.bind(src) ?? (async () => ({ ok: false as const, error: 'this source cannot write revisions' }));
      write(e.proposal).then(
        (r) => ui.update((s) => learnApplied(s, e.proposal.sandbox, r)),
        (err: unknown) => ui.update((s) => learnApplied(s, e.proposal.sandbox, { ok: false, error: err instanceof Error ? err.message : String(err) })),
      );
      return;
    }
    if (e.type === 'chatSend' || e.type === 'chatCancel') {
      // The turn is the supervisor's: its events come back on the stream (chat.*), in every client.
      const src = options.source;
      const say = (text: string, tone: 'info' | 'error'): void => ui.update((s) => ({ ...s, message: { text, tone } }));
      const go = e.type === 'chatSend' ? src.chat?.bind(src, e.sandbox, e.message) : src.chatCancel?.bind(src, e.sandbox);
      if (go === undefined) return say('chat needs a supervisor (this source has none)', 'error');
      go().then(
        (r) => {
          if (!r.ok) say(`chat ${e.sandbox}: ${r.error}`, 'error');
          else if (e.type === 'chatCancel') say('turn' in r && r.turn !== null ? `cancelling ${r.turn}` : `${e.sandbox} has no turn in progress`, 'info');
        },
        (err: unknown) => say(`chat ${e.sandbox}: ${err instanceof Error ? err.message : String(err)}`, 'error'),
      );
      return;
    }
    if (e.type === 'modelLogs') {
      if (models === null) return ui.update((s) => modelLogsArrived(s, e.name, { ok: false, error: 'models are off in this TUI' }));
      models.logs(e.name, LOG_LINES).then((r) => ui.update((s) => modelLogsArrived(s, e.name, r)));
      return;
    }
    if (e.type === 'modelAction') {
      if (models === null) return ui.update((s) => ({ ...s, message: { text: 'models are off in this TUI', tone: 'error' } }));
      models.act(e.name, e.action).then((r) => ui.update((s) => ({ ...s, message: { text: r.message, tone: r.ok ? 'ok' : 'error' } })));
      return;
    }
    options.source.decide(e.id, e.verdict, e.always).then(
      (r) => {
        if (!r.ok) ui.update((s) => ({ ...s, message: { text: `${e.id}: ${r.error ?? 'decision failed'}`, tone: 'error' } }));
      },
      (err: unknown) => ui.update((s) => ({ ...s, message: { text: `${e.id}: ${err instanceof Error ? err.message : String(err)}`, tone: 'error' } })),
    );
  };

  if (options.handleProcessEvents !== false) {
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
      const fn = (): void => finish({ reason: 'signal', signal: sig });
      process.on(sig, fn);
      offs.push(() => process.off(sig, fn));
    }
    const onCrash = (error: unknown): void => finish({ reason: 'error', error });
    process.on('uncaughtException', onCrash);
    offs.push(() => process.off('uncaughtException', onCrash));
  }

  store.flush();
  const instance = render(h(App, { store, ui, themes, onEffect, ascii: options.ascii === true, now }), {
    stdout,
    stdin,
    stderr,
    interactive: isTTY, // Ink renders nothing on a TTY under CI=true without this
    alternateScreen: alt,
    incrementalRendering: true,
    // Ink's own throttle only delays: feed frames are already paced by the store (10 Hz, 4 Hz
    // under a flood), so at 24 fps a key pressed just after a feed frame waited up to 42 ms for
    // its own frame. 60 fps still caps a held key's repeat.
    maxFps: options.maxFps ?? 60,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  ink.instance = instance;
  // A layout that shows the Models pane loads its feed after the first frame, not before it.
  const modelsAtStart = setTimeout(() => {
    if (!finished && modelsPaneShown(ui.getSnapshot())) needModels();
  }, 0);
  offs.push(() => clearTimeout(modelsAtStart));
  instance.waitUntilExit().then(
    () => finish({ reason: 'quit' }),
    (error: unknown) => finish({ reason: 'error', error }),
  );

  return { store, ui, exited, quit: () => finish({ reason: 'quit' }) };
}

/** Run the TUI until it exits; resolves with how it ended (the caller picks the exit code). */
export function runTui(options: RunTuiOptions): Promise<TuiExit> {
  return startTui(options).exited;
}

/** Exit status for a TuiExit: 0 quit, 128+n for a signal, 70 (EX_SOFTWARE) for a crash. */
export function exitCodeFor(exit: TuiExit): number {
  if (exit.reason === 'quit') return 0;
  if (exit.reason === 'signal') return 128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[exit.signal]!;
  return 70;
}

function captureConsole(ingest: (e: TuiEvent) => void, now: () => number): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => [m, console[m]] as const);
  for (const m of methods) {
    console[m] = (...args: unknown[]) => {
      const line = args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? (a.stack ?? a.message) : safeJson(a))).join(' ');
      for (const l of line.split('\n').slice(0, 50)) ingest({ type: 'log', ts: now(), sandbox: 'nemoclaw', stream: m === 'error' || m === 'warn' ? 'stderr' : 'system', line: l });
    };
  }
  return () => {
    for (const [m, fn] of saved) console[m] = fn;
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
