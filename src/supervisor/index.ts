// The supervisor component's only public door: one supervisor per NEMOCLAW_HOME (lock), its
// control API (HTTP over run/api.sock), the typed event bus, sandbox lifecycle and exec, and the
// client every CLI verb, the TUI and scripts use.
export { startSupervisor } from './supervisor.ts';
export type { Supervisor, SupervisorOptions } from './supervisor.ts';
export { ApiClient, ApiError, SupervisorUnavailableError } from './client.ts';
export { EventBus } from './bus.ts';
export type { BusStats, Subscription, SubscriberHandlers } from './bus.ts';
export type { BusEvent, BusEventBody, BusEventType, DroppedNotice, SandboxState, RestartPolicy } from './events.ts';
export type { SandboxView, CreateInput, InferenceChoice } from './types.ts';
export { NotFoundError, InvalidRequestError } from './types.ts';
export { editDistance, suggest } from './names.ts';
export { STOP_GRACE_MS } from './lifecycle.ts';
export { SupervisorRunningError, acquireSupervisorLock, readLock, holderAlive } from './lock.ts';
export { homePaths, nemoclawHome, validName, NAME_RE, RESERVED_NAMES } from './paths.ts';
export type { HomePaths } from './paths.ts';
export { RESTART_POLICIES, isRestartPolicy, shouldRestart, backoffDelay, nextAttempt, BACKOFF_BASE_MS, BACKOFF_MAX_MS } from './restart.ts';
export type { LogRecord } from './logs.ts';
export type { ExecRequest, Frame, ExitFrame } from './exec.ts';
export { FrameParser, frame, resizeFrame, parseExit, encodeRequest } from './exec.ts';
