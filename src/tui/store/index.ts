// The TUI's data layer: no React, no Ink. Safe to import from the supervisor (types) and headless code.
export type { TuiEvent, TuiEventType, TuiDataSource, SandboxInfo, SandboxState, PendingApproval, DecidedApproval, ApprovalKind, Verdict, DecisionResult } from './events.ts';
export { RingBuffer } from './ring-buffer.ts';
export { collapse, defaultCollapseOptions, type Collapsed, type CollapseOptions, type CollapseResult } from './collapse.ts';
export { TuiStore, defaultCapacities, MAX_LINE_CHARS, type TuiSnapshot, type Feed, type SandboxRow, type GpuSeries, type TuiStoreOptions, type StoreCapacities } from './tui-store.ts';
export { ScriptedDataSource, type Script, type ScriptStep, type EventFactory, type Clock, type ScriptedSourceOptions } from './scripted-source.ts';
export { demoScript, DEMO_APPROVAL_ID, type DemoOptions } from './demo-script.ts';
