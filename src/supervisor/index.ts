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
// Learning mode as `status` and the TUI show it (issue 22).
export type { LearningView } from './learning.ts';
export { NotFoundError, InvalidRequestError } from './types.ts';
export { editDistance, suggest } from './names.ts';
export { STOP_GRACE_MS } from './lifecycle.ts';
export { SupervisorRunningError, acquireSupervisorLock } from './lock.ts';
// The home layout, the lock protocol and the name rule live in src/state (shared with the policy
// CLI and the audit log); re-exported because they are the supervisor's contract with its clients.
export { homePaths, nemoclawHome, validName, NAME_RE, RESERVED_NAMES, readLockHolder as readLock, holderAlive } from '../state/index.ts';
export type { HomePaths } from '../state/index.ts';
export { RESTART_POLICIES, isRestartPolicy, shouldRestart, backoffDelay, nextAttempt, BACKOFF_BASE_MS, BACKOFF_MAX_MS } from './restart.ts';
export type { LogRecord } from './logs.ts';
export type { ExecRequest, Frame, ExitFrame } from './exec.ts';
export { FrameParser, frame, resizeFrame, parseExit, encodeRequest } from './exec.ts';
