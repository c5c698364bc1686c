// Models pane: rows (after the pane's filter), the selected model, the GPU figures joined to a
// model through the owners of GPU processes, and the state changes its keys make. Pure.
import { ok, popMode, pushMode, replaceTop, say, topMode, type DispatchCtx, type ModelAction, type Mode, type Result, type UiState } from '../../input/types.ts';
import { presetPanes } from '../../layout/layout.ts';
import type { ModelRow } from '../../store/events.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { activeFilter, clamp, matchesFilter } from '../common.ts';

export type ModelLogsMode = Extract<Mode, { kind: 'modelLogs' }>;

/** Log lines the overlay asks for. */
export const LOG_LINES = 200;

export function modelRows(snapshot: TuiSnapshot, ui: UiState): readonly ModelRow[] {
  const f = activeFilter(ui, 'models');
  if (f === undefined || f.text === '') return snapshot.models.rows;
  return snapshot.models.rows.filter((m) => matchesFilter(`${m.name} ${m.engine} ${m.image} ${m.model ?? ''} ${m.state} ${m.port}`, f));
}

export function selectedModelName(ui: UiState, ctx: DispatchCtx): string | undefined {
  const top = topMode(ui);
  if (top?.kind === 'modelLogs') return top.name;
  const names = ctx.models ?? [];
  return names[clamp(ui.cursor.models ?? 0, 0, Math.max(0, names.length - 1))];
}

/** GPU memory (MiB, summed over its processes) and utilisation (%, the busiest GPU it uses) of one model; null when it has no GPU process. */
export function modelGpu(name: string, snapshot: TuiSnapshot): { memoryMiB: number; utilization: number | null } | null {
  const procs = snapshot.gpu.processes.filter((p) => p.owner?.kind === 'model' && p.owner.name === name);
  if (procs.length === 0) return null;
  const uuids = new Set(procs.map((p) => p.gpuUuid));
  const utils = snapshot.gpu.gpus.filter((g) => g.latest.uuid !== undefined && uuids.has(g.latest.uuid)).map((g) => g.latest.utilization ?? 0);
  return { memoryMiB: procs.reduce((n, p) => n + (p.usedMemory ?? 0), 0), utilization: utils.length > 0 ? Math.max(...utils) : null };
}

/** Whether the Models pane is on screen: the trigger that loads dockerode (never at start-up otherwise). */
export function modelsPaneShown(ui: UiState): boolean {
  if (ui.zoomed !== null) return ui.zoomed === 'models';
  return presetPanes(ui.layout).includes('models') && !ui.hidden.includes('models');
}

/** l / Enter: the overlay, loading; the source answers through modelLogsArrived. */
export function openModelLogs(ui: UiState, ctx: DispatchCtx): Result {
  const name = selectedModelName(ui, ctx);
  if (name === undefined) return ok(say(ui, 'no model selected', 'warn'));
  return ok(pushMode(ui, { kind: 'modelLogs', name, status: 'loading', lines: [], error: null, scroll: 0 }), [{ type: 'modelLogs', name }]);
}

export function modelLogsArrived(ui: UiState, name: string, r: { ok: true; lines: readonly string[] } | { ok: false; error: string }): UiState {
  const top = topMode(ui);
  if (top?.kind !== 'modelLogs' || top.name !== name) return ui;
  return replaceTop(ui, r.ok ? { ...top, status: 'ready', lines: r.lines, error: null, scroll: 0 } : { ...top, status: 'error', lines: [], error: r.error });
}

export function scrollModelLogs(ui: UiState, delta: number): Result {
  const top = topMode(ui);
  if (top?.kind !== 'modelLogs') return ok(ui);
  return ok(replaceTop(ui, { ...top, scroll: clamp(top.scroll + delta, 0, Math.max(0, top.lines.length - 1)) }));
}

export function closeModelLogs(ui: UiState): Result {
  return ok(popMode(ui));
}

const PROMPTS: Record<ModelAction, (name: string) => { prompt: string; detail: string }> = {
  stop: (name) => ({ prompt: `Stop model ${name}?`, detail: `Its provider is unregistered first, so the router stops sending to it; the container stays (nemoclaw models rm ${name} removes it).` }),
  restart: (name) => ({ prompt: `Restart model ${name}?`, detail: 'Its provider is unregistered, the container stopped and started again, and registered again once it answers ready.' }),
};

/** r / s: ask y/N first. */
export function confirmModel(ui: UiState, ctx: DispatchCtx, action: ModelAction): Result {
  const name = selectedModelName(ui, ctx);
  if (name === undefined) return ok(say(ui, 'no model selected', 'warn'));
  const base = topMode(ui)?.kind === 'modelLogs' ? popMode(ui) : ui;
  return ok(pushMode(base, { kind: 'confirm', action: { type: 'model', name, action }, ...PROMPTS[action](name) }));
}
