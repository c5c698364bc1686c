// The approvals component's only public door.
export { ApprovalQueue } from './queue.ts';
export type {
  ApprovalKind,
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
