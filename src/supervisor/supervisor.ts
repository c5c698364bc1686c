// Composition: lock, state store, event bus, audit log, approval queue, lifecycle and API server.
// One per NEMOCLAW_HOME; runs inside `nemoclaw serve` (and the TUI). Nothing here does work of
// its own beyond wiring and an orderly shutdown.
import { ApprovalQueue, serveApprovals } from '../approvals/index.ts';
import type { ApprovalsServer } from '../approvals/index.ts';
import type { AuditEventInput, AuditLog } from '../audit/index.ts';
import { fingerprint, openAuditLog } from '../audit/index.ts';
import { createInferenceRouter } from '../inference/index.ts';
import type { ApiServer } from './api.ts';
import { serveApi } from './api.ts';
import { EventBus } from './bus.ts';
import { ChatService } from './chat.ts';
import { Lifecycle } from './lifecycle.ts';
import { startAuditRetention } from './retention.ts';
import type { HeldLock } from './lock.ts';
import { acquireSupervisorLock } from './lock.ts';
import type { HomePaths } from '../state/index.ts';
import { homePaths, nemoclawHome } from '../state/index.ts';
import { StateStore } from './state.ts';
import type { AuditFn } from './types.ts';

export interface SupervisorOptions {
  home?: string;
  /** Helper binary (default: src/sandbox's helperPath()). */
  helper?: string;
  busCapacity?: number;
  /** Default time an approval waits before it is denied (ms). */
  approvalTimeoutMs?: number;
  /** Warnings (audit log unavailable, ...). */
  onWarning?: (line: string) => void;
}

export interface Supervisor {
  readonly paths: HomePaths;
  readonly bus: EventBus;
  readonly lifecycle: Lifecycle;
  readonly approvals: ApprovalQueue;
  /** Chat turns with sandboxes' agents (the API's and headless's). */
  readonly chat: ChatService;
  readonly apiSocket: string;
  info(): Record<string, unknown>;
  close(reason?: string): Promise<void>;
}

export async function startSupervisor(opts: SupervisorOptions = {}): Promise<Supervisor> {
  const paths = homePaths(opts.home ?? nemoclawHome());
  const lock: HeldLock = acquireSupervisorLock(paths.lock);
  const warn = opts.onWarning ?? ((l: string) => process.stderr.write(`nemoclaw: ${l}\n`));
  let log: AuditLog | null = null;
  try {
    log = await openAuditLog({ home: paths.home });
  } catch (err) {
    warn(`audit log unavailable, supervisor decisions are not audited: ${(err as Error).message}`);
  }
  let chain: Promise<unknown> = Promise.resolve();
  const actor = { process: 'nemoclaw supervisor', pid: process.pid, uid: process.getuid?.() };
  const audit: AuditFn = (event: AuditEventInput, durable = false) => {
    if (log === null) return;
    const l = log;
    chain = chain.then(() => l.append({ actor, ...event }, { durable })).catch((err: unknown) => warn(`audit append failed: ${(err as Error).message}`));
  };

  const bus = new EventBus(opts.busCapacity);
  const approvals = new ApprovalQueue({ timeoutMs: opts.approvalTimeoutMs });
  approvals.on('added', (item) => bus.publish(item.sandbox, { type: 'approval.pending', item: { ...item } }));
  approvals.on('decided', (item, r) => {
    bus.publish(item.sandbox, { type: 'approval.decided', id: r.id, verdict: r.verdict, always: r.always, by: `${r.by.user} (${r.by.origin})`, reason: r.reason });
    audit({ kind: 'approval.decision', activity: r.verdict === 'allow' ? 'approve' : 'deny', sandbox: item.sandbox, binary: item.binary ?? undefined, target: item.host !== null ? `${item.host}:${item.port}` : item.tool !== undefined ? `tool:${item.tool.name}` : (item.path ?? undefined), decision: `${r.verdict}_${r.always ? 'always' : 'once'}`, actor: { user: r.by.user, process: r.by.origin } }, true);
  });

  const state = new StateStore(paths);
  // One router serves every sandbox's inference.local: it keys each request on the sandbox its
  // proxy belongs to (docs/design.md, invariant 2), never on anything the caller says.
  const inference = createInferenceRouter({
    home: paths.home,
    audit: (ev) => audit(ev),
    onEvent: (e) => bus.publish(e.sandbox, { type: 'inference', event: e }),
    fingerprint: (v) => fingerprint(v, paths.home),
    // Host variables the operator marks secret (NEMOCLAW_SECRET_VARS=A,B): their values are
    // redacted like stored provider keys, exact matches first.
    hostSecrets: () =>
      (process.env.NEMOCLAW_SECRET_VARS ?? '')
        .split(',')
        .map((n) => process.env[n.trim()] ?? '')
        .filter((v) => v !== ''),
  });
  const lifecycle = new Lifecycle({ paths, state, bus, approvals, audit, helper: opts.helper, inference, routes: inference.routes });
  const chat = new ChatService({ paths, lifecycle, bus, audit });
  const startedAt = new Date().toISOString();
  let api: ApiServer | null = null;
  let approvalsServer: ApprovalsServer | null = null;
  const info = (): Record<string, unknown> => ({ pid: process.pid, home: paths.home, startedAt, sandboxes: lifecycle.names().length, bus: bus.stats(), approvals: approvals.list().length });
  try {
    lifecycle.load();
    api = await serveApi({ socketPath: paths.api, lifecycle, bus, approvals, audit, info, inference, chat });
    approvalsServer = await serveApprovals(approvals, paths.approvals);
  } catch (err) {
    await api?.close();
    lock.release();
    throw err;
  }
  if (lock.brokeStale) audit({ kind: 'sandbox.lifecycle', activity: 'stale_lock_cleaned', detail: { stale_pid: lock.brokeStale.pid }, severity: 'medium' }, true);
  audit({ kind: 'sandbox.lifecycle', activity: 'supervisor_start', detail: { sandboxes: lifecycle.names().length } }, true);
  const recovered = await lifecycle.recover();
  // The audit log's size budget, if config.json sets one (issue 19; docs/audit.md "Retention").
  const retention = startAuditRetention(paths, warn);
  bus.publish(null, { type: 'supervisor.started', pid: process.pid, recovered, staleLock: lock.brokeStale?.pid ?? null });

  let closing: Promise<void> | null = null;
  return {
    paths,
    bus,
    lifecycle,
    approvals,
    chat,
    apiSocket: paths.api,
    info,
    close(reason = 'shutdown') {
      closing ??= (async () => {
        bus.publish(null, { type: 'supervisor.stopping', reason });
        await api?.close();
        await approvalsServer?.close();
        approvals.close();
        await lifecycle.close();
        await inference.close();
        await retention.stop();
        audit({ kind: 'sandbox.lifecycle', activity: 'supervisor_stop', detail: { reason } }, true);
        await chain;
        await log?.close().catch(() => undefined);
        lock.release();
      })();
      return closing;
    },
  };
}
