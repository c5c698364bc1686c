// SupervisorDataSource: the TuiDataSource backed by a running supervisor, read only through its
// public client (ApiClient from src/supervisor/index.ts): the resumable NDJSON event stream
// (/v1/events?follow=1&since=SEQ) mapped to TuiEvents, decisions through the approvals API, and
// sandboxes (with policy summary and the helper's enforcement report) from /v1/sandboxes.
//
// Reconnects: the cursor is the last sequence number seen; a dropped stream resumes from it, so
// no event is missed while the supervisor's ring still holds it (a `stream.dropped` notice is
// shown as a system log line otherwise). A restarted supervisor (new pid in /v1/health) numbers
// from 1 again, so the cursor is reset and the sandboxes and pending approvals are re-seeded.
// No React, no Ink: this file is plain data plumbing.
import type { ApprovalItem } from '../../approvals/index.ts';
import type { ApiClient, BusEvent, SandboxView } from '../../supervisor/index.ts';
import { chatEntry } from '../store/chat.ts';
import type { DecidedApproval, DecisionResult, LearnProposal, PendingApproval, SandboxInfo, SandboxState, TuiDataSource, TuiEvent, Verdict } from '../store/events.ts';

/** The part of ApiClient this source uses (tests may pass a fake). */
export type SupervisorApi = Pick<ApiClient, 'call' | 'stream'>;

export interface SupervisorSourceOptions {
  api: SupervisorApi;
  /** Recorded as the decider (default $USER). */
  user?: string;
  /** Where decisions come from, as the audit log records it (default "tui"). */
  origin?: string;
  /** Delay before reconnecting after the stream ends or fails (default 250 ms, doubling to 5 s). */
  reconnectMs?: number;
  /** Called on connection changes (for a status line or a test). */
  onStatus?: (s: { connected: boolean; error?: string; since: number }) => void;
  now?: () => number;
}

/** The fields of an approval item (as the supervisor sends it) that the TUI shows. */
type ApprovalItemLike = Pick<ApprovalItem, 'id' | 'sandbox' | 'kind' | 'binary' | 'host' | 'port' | 'method' | 'path' | 'firstSeen' | 'expiresAt'> & Pick<Partial<ApprovalItem>, 'tool'>;

const STATE_MAP: Record<string, SandboxState> = {
  starting: 'starting',
  backoff: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  exited: 'stopped',
  failed: 'failed',
};

function mapState(s: string): SandboxState {
  return STATE_MAP[s] ?? 'failed';
}

function basename(p: string | null | undefined): string {
  if (!p) return '?';
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

function tsOf(e: { ts: string }): number {
  const t = Date.parse(e.ts);
  return Number.isFinite(t) ? t : Date.now();
}

/** Flattens the helper's enforcement report into short lines for the details view. */
export function flattenEnforcement(rep: Record<string, unknown> | null | undefined): Record<string, string> | undefined {
  if (!rep) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rep)) {
    if (v === null || v === undefined) out[k] = 'none';
    else if (Array.isArray(v) && v.length === 0) continue;
    else if (typeof v === 'object') out[k] = Array.isArray(v) ? v.join(' ') : Object.entries(v as Record<string, unknown>).map(([a, b]) => `${a}=${typeof b === 'object' ? JSON.stringify(b) : String(b)}`).join(' ');
    else out[k] = String(v);
  }
  return out;
}

/** One line per policy section from a policy YAML text (top-level keys and their first-level entries). */
export function summarisePolicy(text: string): string[] {
  const lines: string[] = [];
  let cur: string | null = null;
  let parts: string[] = [];
  const flush = (): void => {
    if (cur !== null) lines.push(parts.length ? `${cur}: ${parts.join(', ')}` : cur);
  };
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) || raw.trim() === '') continue;
    const top = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(raw);
    if (top) {
      flush();
      cur = top[1] as string;
      parts = top[2] ? [(top[2] as string).trim()] : [];
      continue;
    }
    const sub = /^ {2}([A-Za-z_][\w.-]*):\s*(.*)$/.exec(raw);
    if (sub && cur !== null) parts.push(sub[2] ? `${sub[1]} ${(sub[2] as string).trim()}` : (sub[1] as string));
  }
  flush();
  return lines.filter((l) => !l.startsWith('version'));
}

/** The policy text an "always" answer writes (src/approvals/persist.ts), or why it is refused. */
function alwaysPreview(it: ApprovalItemLike): { allow: string; deny: string } | undefined {
  const bins = it.binary !== null ? `\n    binaries: [{ path: ${it.binary} }]` : '';
  if (it.kind === 'tool') {
    if (it.tool === undefined) return undefined;
    return { allow: `tools:\n  allow: [..., ${it.tool.name}]   # applies at once`, deny: `tools:\n  deny: [..., ${it.tool.name}]   # applies at once` };
  }
  if (it.kind === 'exec') {
    if (it.binary === null) return undefined;
    return {
      allow: `exec:\n  allow: [..., ${it.binary}]   # applies when the sandbox is next created`,
      deny: 'refused: policies have no exec deny list (deny once instead)',
    };
  }
  if (it.host === null || it.port === null) return undefined;
  const name = `always_<verdict>_${it.host.replace(/\W/g, '_')}_${it.port}`;
  const allow = it.binary === null ? 'refused: the calling program is unknown, so the rule would apply to every program (approve once instead)' : null;
  if (it.method !== null) {
    const rule = `{ method: ${it.method.toUpperCase()}, path: ${it.path ?? '/'} }`;
    const ep = `host: ${it.host}, port: ${it.port}, protocol: rest`;
    return {
      allow: allow ?? `network_policies:\n  ${name.replace('<verdict>', 'allow')}:\n    endpoints: [{ ${ep}, rules: [{ allow: ${rule} }] }]${bins}`,
      deny: `network_policies:\n  ${name.replace('<verdict>', 'deny')}:\n    endpoints: [{ ${ep}, rules: [], deny_rules: [${rule}] }]${bins}`,
    };
  }
  const ep = `{ host: ${it.host}, port: ${it.port} }`;
  return {
    allow: allow ?? `network_policies:\n  ${name.replace('<verdict>', 'allow')}:\n    endpoints: [${ep}]${bins}`,
    deny: `network_policies:\n  ${name.replace('<verdict>', 'deny')}:\n    action: deny\n    endpoints: [${ep}]${bins}`,
  };
}

/** One line for a tool call: the tool and its arguments, cut (the row renders it through inert()). */
function toolSummary(t: NonNullable<ApprovalItem['tool']>): string {
  const args = t.args.length > 160 ? `${t.args.slice(0, 160)}…` : t.args;
  return `tool ${t.name} ${args}${t.reason ? ` (${t.reason.slice(0, 80)})` : ''}`;
}

export function approvalFromItem(it: ApprovalItemLike): PendingApproval {
  const bin = basename(it.binary);
  const target = it.kind === 'egress' ? `${it.host ?? '?'}:${it.port ?? '?'}` : it.kind === 'tool' ? it.tool?.name : (it.path ?? undefined);
  const req = it.method ? ` ${it.method} ${it.path ?? '/'}` : '';
  const summary = it.kind === 'egress' ? `${bin} -> ${target}${req}` : it.kind === 'tool' && it.tool ? toolSummary(it.tool) : `${bin} exec ${it.path ?? '?'}`;
  const pa: PendingApproval = { id: it.id, sandbox: it.sandbox, kind: it.kind, summary, createdAt: it.firstSeen, timeoutAt: it.expiresAt };
  if (it.binary) pa.binary = it.binary;
  if (target !== undefined) pa.target = target;
  const always = alwaysPreview(it);
  if (always !== undefined) pa.alwaysRule = always;
  return pa;
}

/** What a route looks like on the API and the bus (src/inference SandboxRoute, the fields shown). */
interface RouteView {
  mode: string;
  models: Array<{ alias: string; provider: string; model: string }>;
}

function routeText(r: RouteView): { mode: string; models: string } {
  return { mode: r.mode, models: r.models.map((m) => `${m.alias} -> ${m.provider}/${m.model}`).join(', ') };
}

export class SupervisorDataSource implements TuiDataSource {
  private readonly api: SupervisorApi;
  private readonly user: string;
  private readonly origin: string;
  private readonly baseDelay: number;
  private readonly onStatus: SupervisorSourceOptions['onStatus'];
  private readonly infos = new Map<string, SandboxInfo>();
  private readonly refreshTimers = new Map<string, NodeJS.Timeout>();
  private readonly pending = new Map<string, PendingApproval>();
  private readonly decided = new Set<string>();
  /** Last bus sequence number delivered. */
  private since = 0;
  private supervisorPid: number | null = null;

  constructor(o: SupervisorSourceOptions) {
    this.api = o.api;
    this.user = o.user ?? process.env.USER ?? 'operator';
    this.origin = o.origin ?? 'tui';
    this.baseDelay = o.reconnectMs ?? 250;
    this.onStatus = o.onStatus;
  }

  /** The last sequence number delivered (for tests and the bench). */
  get cursor(): number {
    return this.since;
  }

  async decide(approvalId: string, verdict: Verdict, always: boolean): Promise<DecisionResult> {
    try {
      const r = await this.api.call<{ result?: { verdict?: string; always?: boolean; persisted?: boolean; persistError?: string } }>('POST', `/v1/approvals/${encodeURIComponent(approvalId)}/decision`, {
        verdict,
        always,
        by: { user: this.user, origin: this.origin },
      });
      const res = r?.result;
      if (res?.always === true && res.persisted === false) {
        // A failed "allow always" fails closed: the request was denied, and the operator must see it.
        const applied = res.verdict !== undefined && res.verdict !== verdict ? `; the request was ${res.verdict === 'deny' ? 'denied' : res.verdict}` : '';
        return { ok: false, error: `"${verdict} always" failed, policy NOT written: ${res.persistError ?? 'unknown error'}${applied}` };
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** A learning proposal from the supervisor (it reads the audit log); nothing is written. */
  async learn(sandbox: string, minutes: number): Promise<{ ok: true; proposal: LearnProposal } | { ok: false; error: string }> {
    try {
      const r = await this.api.call<{ proposal: { sandbox: string; rev: number | null; text: string; diff: string; rules: { host: string; port: number }[]; exec: { path: string }[]; read: number; denied: number } }>(
        'POST',
        `/v1/sandboxes/${encodeURIComponent(sandbox)}/learn`,
        { minutes },
      );
      const p = r.proposal;
      return { ok: true, proposal: { sandbox, rev: p.rev, text: p.text, diff: p.diff, destinations: p.rules.map((x) => `${x.host}:${x.port}`), exec: p.exec.map((x) => x.path), read: p.read, denied: p.denied } };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Writes the reviewed proposal, only on top of the revision it was made against. */
  async applyLearned(p: LearnProposal): Promise<{ ok: true; rev: number } | { ok: false; error: string }> {
    try {
      const what = [...p.destinations, ...p.exec.map((x) => `exec ${x}`)].join(', ') || 'no new entries';
      const r = await this.api.call<{ applied: boolean; dropped: string[]; meta?: { rev: number } }>('PUT', `/v1/sandboxes/${encodeURIComponent(p.sandbox)}/learn`, {
        text: p.text,
        rev: p.rev ?? 0,
        author: this.user,
        reason: `learned in the TUI: ${what}`,
      });
      if (!r.applied || r.meta === undefined) return { ok: false, error: `not written: it would drop ${r.dropped.join(', ')}` };
      return { ok: true, rev: r.meta.rev };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Starts a turn (the supervisor runs it; its events come back on the stream). */
  async chat(sandbox: string, message: string): Promise<{ ok: true; turn: string } | { ok: false; error: string }> {
    try {
      const r = await this.api.call<{ turn: string }>('POST', `/v1/sandboxes/${encodeURIComponent(sandbox)}/chat?wait=0`, { message });
      return { ok: true, turn: r.turn };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async chatCancel(sandbox: string): Promise<{ ok: true; turn: string | null } | { ok: false; error: string }> {
    try {
      const r = await this.api.call<{ cancelled: string | null }>('POST', `/v1/sandboxes/${encodeURIComponent(sandbox)}/chat/cancel`);
      return { ok: true, turn: r.cancelled };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Each agent sandbox's conversation as the supervisor keeps it (on attach and after a supervisor restart). */
  private async chatHistories(emit: (e: TuiEvent) => void): Promise<void> {
    const r = await this.api.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes');
    for (const v of r.sandboxes) {
      if (v.agent === null || v.agent === undefined) continue;
      try {
        const h = await this.api.call<{ turn: string | null; history: Array<Record<string, unknown>> }>('GET', `/v1/sandboxes/${encodeURIComponent(v.name)}/chat/history?tail=500`);
        const entries = h.history.map(chatEntry).filter((x) => x !== null);
        emit({ type: 'chat_history', ts: Date.now(), sandbox: v.name, entries, busy: h.turn });
      } catch {
        // an older supervisor without chat: the live events are all there is
      }
    }
  }

  async sandboxes(): Promise<readonly SandboxInfo[]> {
    const r = await this.api.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes');
    const out: SandboxInfo[] = [];
    for (const v of r.sandboxes) out.push(await this.withPolicy(this.fromView(v)));
    return out;
  }

  private fromView(v: SandboxView): SandboxInfo {
    const prev = this.infos.get(v.name);
    const info: SandboxInfo = {
      ...prev,
      name: v.name,
      state: mapState(v.state),
      blueprint: v.blueprint ?? 'policy file',
      policyRevision: v.policyRevision ?? prev?.policyRevision ?? 0,
    };
    if (v.startedAt) info.startedAt = Date.parse(v.startedAt);
    if (v.pid !== null) info.pid = v.pid;
    const enf = flattenEnforcement(v.enforcement);
    if (enf) info.enforcement = enf;
    const degraded = v.enforcement && Array.isArray((v.enforcement as { degraded?: unknown }).degraded) ? ((v.enforcement as { degraded: string[] }).degraded) : undefined;
    if (degraded && degraded.length) info.degraded = degraded;
    if (v.learning) info.learning = { egress: v.learning.egress, exec: v.learning.exec, destinations: v.learning.destinations, execs: v.learning.execs };
    else delete info.learning;
    this.infos.set(v.name, info);
    return info;
  }

  private async withPolicy(info: SandboxInfo): Promise<SandboxInfo> {
    try {
      // The inference route is its own resource; a supervisor without it answers null or 404.
      const r = await this.api.call<{ route: RouteView | null }>('GET', `/v1/sandboxes/${encodeURIComponent(info.name)}/inference`).catch(() => ({ route: null }));
      if (r.route) info = { ...info, inference: routeText(r.route) };
    } catch {
      // no route shown
    }
    try {
      const p = await this.api.call<{ current: { rev: number; text: string } | null; applied: number | null }>('GET', `/v1/sandboxes/${encodeURIComponent(info.name)}/policy`);
      const next: SandboxInfo = { ...info, policyRevision: p.applied ?? p.current?.rev ?? info.policyRevision };
      if (p.current) next.policySummary = summarisePolicy(p.current.text);
      this.infos.set(info.name, next);
      return next;
    } catch {
      return info;
    }
  }

  /** refresh(), at most once a second per sandbox (audited egress can come in floods). */
  private refreshSoon(name: string, emit: (e: TuiEvent) => void): void {
    if (this.refreshTimers.has(name)) return;
    const t = setTimeout(() => {
      this.refreshTimers.delete(name);
      this.refresh(name, emit);
    }, 1000);
    t.unref?.();
    this.refreshTimers.set(name, t);
  }

  /** Fetches one sandbox again (state, enforcement, policy) and emits it. */
  private refresh(name: string, emit: (e: TuiEvent) => void): void {
    void this.api
      .call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${encodeURIComponent(name)}`)
      .then((r) => this.withPolicy(this.fromView(r.sandbox)))
      .then((info) => emit({ type: 'sandbox_state', ts: Date.now(), sandbox: info }))
      .catch(() => undefined);
  }

  private info(name: string): SandboxInfo {
    let i = this.infos.get(name);
    if (!i) {
      i = { name, state: 'starting', blueprint: '?', policyRevision: 0 };
      this.infos.set(name, i);
    }
    return i;
  }

  private setInfo(name: string, patch: Partial<SandboxInfo>): SandboxInfo {
    const next = { ...this.info(name), ...patch };
    this.infos.set(name, next);
    return next;
  }

  /** Maps one bus event to zero or more TuiEvents. */
  map(e: BusEvent, emit: (ev: TuiEvent) => void): void {
    const ts = tsOf(e);
    const sb = e.sandbox ?? '';
    switch (e.type) {
      case 'supervisor.started':
        emit({ type: 'audit', ts, seq: e.seq, kind: 'supervisor.started', summary: `supervisor pid ${e.pid} started${e.recovered.length ? `, recovered ${e.recovered.join(', ')}` : ''}` });
        return;
      case 'supervisor.stopping':
        emit({ type: 'audit', ts, seq: e.seq, kind: 'supervisor.stopping', summary: `supervisor stopping: ${e.reason}` });
        return;
      case 'sandbox.created':
        emit({ type: 'sandbox_state', ts, sandbox: this.setInfo(sb, { blueprint: e.blueprint ?? 'policy file', state: 'creating' }) });
        emit({ type: 'audit', ts, seq: e.seq, kind: 'sandbox.created', summary: `${sb} created (${e.blueprint ? `blueprint ${e.blueprint}` : 'policy file'}, restart ${e.restart})` });
        this.refresh(sb, emit);
        return;
      case 'sandbox.state': {
        const patch: Partial<SandboxInfo> = { state: mapState(e.state) };
        if (e.pid !== null) patch.pid = e.pid;
        if (e.state === 'running') patch.startedAt = ts;
        emit({ type: 'sandbox_state', ts, sandbox: this.setInfo(sb, patch) });
        const why = [e.reason, e.code !== null ? `code ${e.code}` : null, e.signal].filter(Boolean).join(', ');
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `state ${e.state}${why ? ` (${why})` : ''}` });
        if (e.state === 'running') this.refresh(sb, emit);
        return;
      }
      case 'sandbox.backoff':
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `restart backoff ${e.delayMs} ms (attempt ${e.attempt})` });
        return;
      case 'sandbox.destroyed':
        this.infos.delete(sb);
        emit({ type: 'sandbox_removed', ts, sandbox: sb });
        emit({ type: 'audit', ts, seq: e.seq, kind: 'sandbox.destroyed', summary: `${sb} destroyed` });
        return;
      case 'sandbox.exec':
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `exec ${e.argv0}${e.argc > 1 ? ` (+${e.argc - 1} args)` : ''}${e.tty ? ' tty' : ''}` });
        return;
      case 'sandbox.exec_exit':
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `exec ${e.argv0} exited ${e.code ?? e.signal ?? '?'}` });
        return;
      case 'log':
        emit({ type: 'log', ts, sandbox: sb, stream: e.stream, line: e.line });
        return;
      case 'policy.revision':
        emit({ type: 'sandbox_state', ts, sandbox: this.setInfo(sb, { policyRevision: e.rev }) });
        emit({ type: 'audit', ts, seq: e.seq, kind: 'policy.revision', summary: `${sb} policy rev ${e.rev}${e.reloaded ? ' applied' : ''}${e.closed ? `, ${e.closed} connections closed` : ''}` });
        this.refresh(sb, emit);
        return;
      case 'approval.pending': {
        const pa = approvalFromItem(e.item);
        if (this.decided.has(pa.id)) return;
        this.pending.set(pa.id, pa);
        emit({ type: 'approval_pending', ts, approval: pa });
        return;
      }
      case 'approval.decided': {
        const pa = this.pending.get(e.id);
        this.pending.delete(e.id);
        this.decided.add(e.id);
        const by = e.reason === 'timeout' ? 'timeout' : e.by;
        const d: DecidedApproval = { id: e.id, sandbox: pa?.sandbox ?? sb, summary: pa?.summary ?? e.id, verdict: e.verdict === 'allow' ? 'allow' : 'deny', always: e.always, by, ts };
        emit({ type: 'approval_decided', ts, decision: d });
        emit({ type: 'audit', ts, seq: e.seq, kind: 'approval.decided', summary: `${d.verdict}${d.always ? ' always' : ''} ${d.summary} by ${by}` });
        return;
      }
      case 'egress': {
        const ev = e.event;
        const base = { ts, sandbox: typeof ev.sandbox === 'string' ? ev.sandbox : sb, binary: basename(ev.binary), host: ev.host ?? '?', port: ev.port ?? 0, rule: ev.rule ?? '-' };
        const req = ev.method ? ` ${ev.method} ${ev.path ?? '/'}` : '';
        if (ev.type === 'egress_allowed') emit({ type: 'egress_allowed', ...base, rule: ev.rule ?? (ev.reason ?? '-') });
        // Learning mode: the count of destinations seen lives in the supervisor's sandbox view.
        else if (ev.type === 'egress_audit') this.refreshSoon(sb, emit);
        else if (ev.type === 'egress_denied' || ev.type === 'binary_replaced' || ev.type === 'preamble_rejected' || ev.type === 'egress_closed_by_reload') emit({ type: 'egress_denied', ...base, reason: `${ev.reason ?? ev.type}${req}` });
        return;
      }
      case 'inference.route':
        emit({ type: 'sandbox_state', ts, sandbox: this.setInfo(sb, { inference: routeText(e) }) });
        emit({ type: 'audit', ts, seq: e.seq, kind: 'inference.route', summary: `${sb} inference rev ${e.rev}: ${e.mode}, ${routeText(e).models}` });
        return;
      case 'inference': {
        // A model call: sent ones in the allowed feed; refusals, errors and redactions in the
        // denial feed (a redaction is a decision the operator should see, docs/inference.md).
        const iv = e.event;
        const base = { ts, sandbox: iv.sandbox, binary: basename(iv.binary), host: 'inference.local', port: 80, rule: iv.alias !== null ? `${iv.alias} -> ${iv.provider ?? '?'}/${iv.model ?? '?'}` : (iv.mode ?? '-') };
        if (iv.decision === 'sent') emit({ type: 'egress_allowed', ...base });
        else emit({ type: 'egress_denied', ...base, reason: iv.decision === 'redacted' ? `redacted ${iv.redactions} value${iv.redactions === 1 ? '' : 's'} before ${iv.provider ?? '?'} (${iv.mode ?? '?'})` : `${iv.decision} ${iv.status}: ${iv.reason ?? '?'} ${iv.endpoint}` });
        return;
      }
      case 'chat.user':
      case 'chat.answer':
      case 'chat.tool':
      case 'chat.notice':
      case 'chat.error':
      case 'chat.end': {
        const entry = chatEntry(e as unknown as Record<string, unknown>);
        if (entry !== null) emit({ type: 'chat', ts, sandbox: sb, entry });
        return;
      }
      case 'sandbox.limit_hit':
        emit({ type: 'limit_hit', ts, sandbox: sb, limit: e.limit, value: `${e.dropped} bytes dropped` });
        return;
      case 'helper':
        this.mapHelper(e, e.event as unknown as Record<string, unknown> & { type: string }, ts, sb, emit);
        return;
      default:
        return;
    }
  }

  private mapHelper(e: BusEvent, h: Record<string, unknown> & { type: string }, ts: number, sb: string, emit: (ev: TuiEvent) => void): void {
    const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
    const str = (v: unknown, d = '?'): string => (typeof v === 'string' ? v : d);
    switch (h.type) {
      case 'ready': {
        const patch: Partial<SandboxInfo> = {};
        const enf = flattenEnforcement(h.enforcement as Record<string, unknown> | undefined);
        if (enf) patch.enforcement = enf;
        if (Array.isArray(h.degraded) && h.degraded.length) patch.degraded = h.degraded as string[];
        emit({ type: 'sandbox_state', ts, sandbox: this.setInfo(sb, patch) });
        return;
      }
      case 'syscall_denied':
        emit({ type: 'syscall_denied', ts, sandbox: sb, pid: num(h.pid), binary: basename(typeof h.exe === 'string' ? h.exe : null), syscall: str(h.syscall), rule: `seccomp ${str(h.action, 'deny')}` });
        return;
      case 'exec_denied':
        emit({ type: 'exec_denied', ts, sandbox: sb, pid: num(h.pid), binary: basename(str(h.path)), path: str(h.path), rule: str(h.reason, 'exec policy') });
        return;
      case 'limit_hit':
        emit({ type: 'limit_hit', ts, sandbox: sb, limit: str(h.limit), value: h.detail === undefined || h.detail === null ? '' : String(h.detail) });
        return;
      case 'egress_direct':
        emit({ type: 'egress_denied', ts, sandbox: sb, binary: basename(typeof h.exe === 'string' ? h.exe : null), host: str(h.addr), port: num(h.port), rule: 'direct connect', reason: 'bypassed the proxy; refused by the kernel' });
        return;
      case 'egress_refused':
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `egress refused: ${str(h.reason)}` });
        return;
      case 'error':
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `helper error at ${str(h.step)}: ${str(h.message)}` });
        return;
      case 'exit':
        emit({ type: 'log', ts, sandbox: sb, stream: 'system', line: `workload exited (${str(h.reason)}${h.code !== null && h.code !== undefined ? ` ${String(h.code)}` : ''}${typeof h.signal === 'string' ? ` ${h.signal}` : ''})` });
        return;
      default:
        void e;
        return;
    }
  }

  events(onEvent: (e: TuiEvent) => void): () => void {
    let stopped = false;
    let current: { abort(): void } | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let delay = this.baseDelay;
    const emit = (e: TuiEvent): void => {
      if (!stopped) onEvent(e);
    };
    const connect = async (): Promise<void> => {
      if (stopped) return;
      let failed: string | undefined;
      try {
        const health = await this.api.call<{ pid?: number }>('GET', '/v1/health');
        const pid = typeof health.pid === 'number' ? health.pid : null;
        if (this.supervisorPid !== null && pid !== this.supervisorPid) {
          // A new supervisor: its sequence numbers start again at 1; pending items of the old one are gone.
          this.since = 0;
          for (const id of this.pending.keys()) emit({ type: 'approval_decided', ts: Date.now(), decision: { id, sandbox: this.pending.get(id)?.sandbox ?? '', summary: this.pending.get(id)?.summary ?? id, verdict: 'deny', always: false, by: 'supervisor restart', ts: Date.now() } });
          this.pending.clear();
          for (const s of await this.sandboxes()) emit({ type: 'sandbox_state', ts: Date.now(), sandbox: s });
        }
        const fresh = this.supervisorPid !== pid;
        this.supervisorPid = pid;
        if (fresh) void this.chatHistories(emit).catch(() => undefined);
        // Pending items the ring no longer holds (a long-lived supervisor) still belong in the queue.
        try {
          const list = await this.api.call<{ items: ApprovalItemLike[] }>('GET', '/v1/approvals');
          for (const it of list.items) {
            if (this.pending.has(it.id) || this.decided.has(it.id)) continue;
            const pa = approvalFromItem(it);
            this.pending.set(pa.id, pa);
            emit({ type: 'approval_pending', ts: Date.now(), approval: pa });
          }
        } catch {
          // older supervisor without the list: the stream replay is all there is
        }
        if (stopped) return;
        const s = this.api.stream(`/v1/events?follow=1&since=${this.since}`, (line) => {
          if (line.type === 'stream.dropped') {
            const n = Number(line.count);
            emit({ type: 'log', ts: Date.now(), sandbox: '', stream: 'system', line: `${n} supervisor events were dropped (this client fell behind); resuming at ${String(line.resumeSeq)}` });
            this.since = Math.max(this.since, Number(line.resumeSeq) - 1);
            return;
          }
          const be = line as unknown as BusEvent;
          if (typeof be.seq === 'number') {
            if (be.seq <= this.since) return;
            this.since = be.seq;
          }
          delay = this.baseDelay;
          try {
            this.map(be, emit);
          } catch {
            // a malformed event of a newer supervisor: skip it
          }
        });
        current = s;
        this.onStatus?.({ connected: true, since: this.since });
        await s.done;
      } catch (err) {
        failed = err instanceof Error ? err.message : String(err);
      }
      current = null;
      if (stopped) return;
      this.onStatus?.({ connected: false, since: this.since, ...(failed ? { error: failed } : {}) });
      timer = setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, 5000);
    };
    void connect();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const t of this.refreshTimers.values()) clearTimeout(t);
      this.refreshTimers.clear();
      current?.abort();
    };
  }
}
