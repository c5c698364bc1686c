// The widget registry: one entry per pane.
import type { PaneId } from '../layout/panes.ts';
import { approvalsActions, approvalsKeys, approvalsRowCount } from './approvals/keys.ts';
import { approvalsBody } from './approvals/view.ts';
import { auditActions, auditKeys, auditRowCount } from './audit/keys.ts';
import { auditBody } from './audit/view.ts';
import { chatActions, chatKeys } from './chat/keys.ts';
import { chatRowCount } from './chat/reducer.ts';
import { chatBody } from './chat/view.ts';
import { egressActions, egressKeys, egressRowCount } from './egress/keys.ts';
import { egressBody } from './egress/view.ts';
import { gpuActions, gpuKeys } from './gpu/keys.ts';
import { gpuBody } from './gpu/view.ts';
import { logsActions, logsKeys, logsRowCount } from './logs/keys.ts';
import { logsBody } from './logs/view.ts';
import { modelsActions, modelsKeys, modelsRowCount } from './models/keys.ts';
import { modelsBody } from './models/view.ts';
import { sandboxesActions, sandboxesKeys, sandboxesRowCount } from './sandboxes/keys.ts';
import { sandboxesBody } from './sandboxes/view.ts';
import { syscallsActions, syscallsKeys, syscallsRowCount } from './syscalls/keys.ts';
import { syscallsBody } from './syscalls/view.ts';
import type { BodyProps, PaneBody, Widget } from './types.ts';

/** Guard the contract for every widget: never more rows than the pane has. */
function clamped(body: (p: BodyProps) => PaneBody): (p: BodyProps) => PaneBody {
  return (p) => {
    if (p.height <= 0 || p.width <= 0) return { lines: [] };
    const b = body(p);
    return b.lines.length <= p.height ? b : { ...b, lines: b.lines.slice(0, p.height) };
  };
}

export const WIDGETS: Readonly<Record<PaneId, Widget>> = {
  sandboxes: { body: clamped(sandboxesBody), rowCount: sandboxesRowCount, keys: sandboxesKeys, actions: sandboxesActions },
  approvals: { body: clamped(approvalsBody), rowCount: approvalsRowCount, keys: approvalsKeys, actions: approvalsActions },
  syscalls: { body: clamped(syscallsBody), rowCount: syscallsRowCount, keys: syscallsKeys, actions: syscallsActions },
  egress: { body: clamped(egressBody), rowCount: egressRowCount, keys: egressKeys, actions: egressActions },
  gpu: { body: clamped(gpuBody), keys: gpuKeys, actions: gpuActions },
  logs: { body: clamped(logsBody), rowCount: logsRowCount, keys: logsKeys, actions: logsActions },
  audit: { body: clamped(auditBody), rowCount: auditRowCount, keys: auditKeys, actions: auditActions },
  chat: { body: clamped(chatBody), rowCount: chatRowCount, keys: chatKeys, actions: chatActions },
  models: { body: clamped(modelsBody), rowCount: modelsRowCount, keys: modelsKeys, actions: modelsActions },
};

export type { Widget, BodyProps, PaneBody } from './types.ts';
