// The approvals component's only public door.
export { ApprovalQueue, ApprovalRefusedError, alwaysRefusal } from './queue.ts';
export type {
  ApprovalKind,
  ToolCall,
  ApprovalVerdict,
  ApprovalRequest,
  ApprovalItem,
  DecidedBy,
  ApprovalDecisionInput,
  ApprovalResult,
  PersistHook,
  ApprovalQueueOptions,
  ApprovalQueueEvents,
} from './queue.ts';
export { serveApprovals, approvalsClient, defaultApprovalsSocket } from './control.ts';
export { currentDecider } from './client.ts';
export { ApprovalsUnavailableError, noQueueError } from './types.ts';
export type { ApprovalsServer } from './control.ts';
export { policyStorePersistHook } from './persist.ts';
export { sendJson, readJsonBody } from './http.ts';
