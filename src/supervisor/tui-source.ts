// The supervisor as the TUI's data source (src/tui's TuiDataSource), over the control API: the
// event stream (resumed from the last seq after a reconnect, so nothing is missed) mapped to
// TuiEvents, decisions through /v1/approvals, and the sandbox list. Types only from src/tui's
// store (no React/Ink is loaded by the backend).
import type { DecisionResult, PendingApproval, SandboxInfo, TuiDataSource, TuiEvent } from '../tui/store/index.ts';
import type { ApiClient } from './client.ts';
import type { SandboxView } from './lifecycle.ts';

function tuiState(s: string): SandboxInfo['state'] {
  if (s === 'running' || s === 'starting' || s === 'stopping' || s === 'stopped' || s === 'failed') return s;
  if (s === 'backoff') return 'starting';
  return 'stopped'; // exited
}

export function sandboxInfo(v: SandboxView): SandboxInfo {
  const en = v.enforcement;
  return {
    name: v.name,
    state: tuiState(v.state),
    blueprint: v.blueprint ?? '(policy file)',
    policyRevision: v.policyRevision ?? 0,
    ...(v.startedAt ? { startedAt: Date.parse(v.startedAt) } : {}),
    ...(v.pid ? { pid: v.pid } : {}),
    ...(en && Array.isArray(en.degraded) && en.degraded.length > 0 ? { degraded: en.degraded as string[] } : {}),
    ...(en ? { enforcement: Object.fromEntries(Object.entries(en).map(([k, x]) => [k, Array.isArray(x) ? x.join(',') : String(x)])) } : {}),
  };
}

/** Maps one API event to TuiEvents (none for the ones the TUI has no pane for). */
export function toTuiEvents(e: Record<string, unknown>, view: (name: string) => Promise<SandboxView | null>): Promise<TuiEvent[]> | TuiEvent[] {
  const ts = Date.parse(String(e.ts)) || Date.now();
  const sandbox = String(e.sandbox ?? '');
  switch (e.type) {
    case 'sandbox.state':
    case 'sandbox.created':
      return view(sandbox).then((v) => (v ? [{ type: 'sandbox_state', ts, sandbox: sandboxInfo(v) }] : []));
    case 'sandbox.destroyed':
      return [{ type: 'sandbox_removed', ts, sandbox }];
    case 'log':
      return [{ type: 'log', ts, sandbox, stream: e.stream === 'stderr' ? 'stderr' : 'stdout', line: String(e.line).slice(0, 2048) }];
    case 'sandbox.backoff':
      return [{ type: 'log', ts, sandbox, stream: 'system', line: `restarting in ${String(e.delayMs)} ms (attempt ${String(e.attempt)})` }];
    case 'helper': {
      const h = e.event as Record<string, unknown>;
      if (h.type === 'syscall_denied') return [{ type: 'syscall_denied', ts, sandbox, pid: Number(h.pid), binary: String(h.exe ?? '?'), syscall: String(h.syscall), rule: 'seccomp' }];
      if (h.type === 'exec_denied') return [{ type: 'exec_denied', ts, sandbox, pid: Number(h.pid), binary: String(h.path), path: String(h.path), rule: String(h.reason) }];
      if (h.type === 'limit_hit') return [{ type: 'limit_hit', ts, sandbox, limit: String(h.limit), value: String(h.detail ?? '') }];
      return [];
    }
    case 'egress': {
      const g = e.event as Record<string, unknown>;
      const v = String(g.verdict ?? '');
      if (g.host === null || g.host === undefined) return [];
      const base = { ts, sandbox, binary: String(g.binary ?? '?'), host: String(g.host), port: Number(g.port ?? 0), rule: String(g.rule ?? '') };
      if (v === 'deny') return [{ type: 'egress_denied', ...base, reason: String(g.reason ?? '') }];
      if (v === 'allow') return [{ type: 'egress_allowed', ...base }];
      return [];
    }
    case 'approval.pending': {
      const i = e.item as Record<string, unknown>;
      const target = i.kind === 'egress' ? `${String(i.host)}:${String(i.port)}` : String(i.path ?? '');
      const approval: PendingApproval = {
        id: String(i.id),
        sandbox: String(i.sandbox),
        kind: i.kind === 'exec' ? 'exec' : 'egress',
        summary: `${String(i.binary ?? '?')} -> ${target}${i.kind === 'egress' && i.method ? ` ${String(i.method)} ${String(i.path ?? '')}` : ''}`,
        ...(i.binary ? { binary: String(i.binary) } : {}),
        target,
        createdAt: Number(i.firstSeen),
        timeoutAt: Number(i.expiresAt),
      };
      return [{ type: 'approval_pending', ts, approval }];
    }
    case 'approval.decided':
      return [{ type: 'approval_decided', ts, decision: { id: String(e.id), sandbox, summary: String(e.id), verdict: e.verdict === 'allow' ? 'allow' : 'deny', always: e.always === true, by: e.reason === 'timeout' ? 'timeout' : String(e.by), ts } }];
    default:
      return [];
  }
}

export function supervisorTuiSource(api: ApiClient, opts: { user?: string; origin?: string } = {}): TuiDataSource {
  const view = async (name: string): Promise<SandboxView | null> => {
    try {
      return (await api.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${encodeURIComponent(name)}`)).sandbox;
    } catch {
      return null;
    }
  };
  return {
    events(onEvent) {
      let stopped = false;
      let last = 0;
      let current: { abort(): void } | null = null;
      let chain: Promise<unknown> = Promise.resolve();
      const loop = async (): Promise<void> => {
        for (let attempt = 0; !stopped; attempt++) {
          const s = api.stream(`/v1/events?since=${last}&follow=1`, (e) => {
            if (typeof e.seq === 'number') last = e.seq;
            // keep order even when a mapping needs an API call
            chain = chain.then(async () => {
              for (const t of await toTuiEvents(e, view)) if (!stopped) onEvent(t);
            });
          });
          current = s;
          await s.done.catch(() => undefined);
          if (!stopped) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
        }
      };
      void loop();
      return () => {
        stopped = true;
        current?.abort();
      };
    },
    async decide(id, verdict, always): Promise<DecisionResult> {
      try {
        await api.call('POST', `/v1/approvals/${encodeURIComponent(id)}/decision`, { verdict, always, by: { user: opts.user ?? process.env.USER ?? 'operator', origin: opts.origin ?? 'tui' } });
        return { ok: true };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    },
    async sandboxes() {
      const r = await api.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes');
      return r.sandboxes.map(sandboxInfo);
    },
  };
}
