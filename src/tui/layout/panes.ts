// The panes, in jump order (1-9).
export const PANES = ['sandboxes', 'approvals', 'syscalls', 'egress', 'gpu', 'logs', 'audit', 'chat', 'models'] as const;
export type PaneId = (typeof PANES)[number];

export const PANE_TITLES: Readonly<Record<PaneId, string>> = {
  sandboxes: 'Sandboxes',
  approvals: 'Approvals',
  syscalls: 'Syscall denials',
  egress: 'Egress',
  gpu: 'GPU & host',
  logs: 'Logs',
  audit: 'Audit',
  chat: 'Agent chat',
  models: 'Models',
};

export function paneNumber(id: PaneId): number {
  return PANES.indexOf(id) + 1;
}

export function isPaneId(s: string): s is PaneId {
  return (PANES as readonly string[]).includes(s);
}
