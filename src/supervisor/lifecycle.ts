// Sandboxes as long-lived objects: create, start, stop, restart, destroy, and what happens when a
// workload ends (restart policy with backoff). Each running sandbox is one helper (runSandbox)
// with its own egress proxy and policy store; a new policy revision is hot-reloaded into the
// proxy. Every decision is published on the bus and appended to the audit log.
import { existsSync, mkdirSync, rmSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AgentRun } from '../agents/index.ts';
import { prepareAgentRun } from '../agents/index.ts';
import type { ApprovalQueue } from '../approvals/index.ts';
import { policyStorePersistHook } from '../approvals/index.ts';
import { proxyEnvironment, startEgressProxy } from '../egress/index.ts';
import type { EgressEvent, EgressProxy, InferenceRouter } from '../egress/index.ts';
import type { Policy, Revision, RevisionMeta, SetResult } from '../policy/index.ts';
import { PolicyStore, compileEgressRules, compileSandboxSpec } from '../policy/index.ts';
import type { RunningSandbox, SandboxEvent, SandboxResult } from '../sandbox/index.ts';
import { runSandbox } from '../sandbox/index.ts';
import { credentialRefusal, findCredential } from './credentials.ts';
import type { EventBus } from './bus.ts';
import type { SandboxState } from './events.ts';
import { enforcementSummary, helperAuditRecord } from './helper-audit.ts';
import { LearningTracker } from './learning.ts';
import { proposeLearning } from './learn.ts';
import type { LearnProposal } from './learn.ts';
import { LogWriter } from './logs.ts';
import type { HomePaths } from '../state/index.ts';
import { NAME_RULE, validName } from '../state/index.ts';
import { suggest } from './names.ts';
import { creationPolicy, writeInitialRevisions } from './policy.ts';
import { backoffDelay, nextAttempt, shouldRestart } from './restart.ts';
import type { SandboxRecord, StateStore } from './state.ts';
import { DuplicateNameError } from './state.ts';
import type { Runtime } from './runtime.ts';
import { emptyState, loadPins, persistState, persistStateSoon, savePin, stateContent } from './runtime.ts';
import type { PoolKey, PooledSandbox } from './pool.ts';
import { WarmPool, adoptHome, poolSizes } from './pool.ts';
import type { AuditFn, CreateInput, SandboxView } from './types.ts';
import { InvalidRequestError, NotFoundError, NotPinnedError } from './types.ts';

/** How long a stopped workload gets between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 3000;



export interface LifecycleDeps {
  paths: HomePaths;
  state: StateStore;
  bus: EventBus;
  approvals: ApprovalQueue;
  audit: AuditFn;
  /** Helper binary override (tests, bench). */
  helper?: string;
  /** The inference.local router every sandbox's proxy hands model calls to (src/inference). */
  inference?: InferenceRouter;
  /** Configuration warnings (config.json's pool). */
  onWarning?: (line: string) => void;
  /** Each sandbox's current route (src/inference): its aliases name the models in an agent's generated config. */
  routes?: { get(sandbox: string): { models: Array<{ alias: string }> } | null };
}

export class Lifecycle {
  private readonly d: LifecycleDeps;
  private readonly rt = new Map<string, Runtime>();
  private closing = false;
  /** Which sandboxes are in learning mode and what they were seen doing (issue 22). */
  private readonly learning = new LearningTracker();
  /** Warm sandboxes per blueprint and workspace (pool.ts; sizes from config.json, issue 23). */
  readonly pool: WarmPool;
  /** Pooled sandboxes taken by create(), waiting for that sandbox's first launch. */
  private readonly claims = new Map<string, PooledSandbox>();

  constructor(deps: LifecycleDeps) {
    this.d = deps;
    mkdirSync(deps.paths.sockets, { recursive: true, mode: 0o700 });
    this.pool = new WarmPool({
      paths: deps.paths,
      sizes: poolSizes(deps.paths.config, deps.onWarning ?? ((l) => process.stderr.write(`nemoclaw: ${l}\n`))),
      approvals: deps.approvals,
      audit: deps.audit,
      ...(deps.helper !== undefined ? { helper: deps.helper } : {}),
      ...(deps.inference !== undefined ? { inference: deps.inference } : {}),
      onChange: (pool, workspace, warm) => deps.bus.publish(null, { type: 'pool.changed', pool, workspace, warm }),
    });
    // "always" answers become policy revisions of the sandbox that asked, then a hot reload.
    deps.approvals.setPersistHook(async (item, decision) => {
      const r = this.rt.get(item.sandbox);
      if (!r) throw new Error(`no sandbox ${item.sandbox} to record the rule in`);
      await policyStorePersistHook(r.store, async () => {
        await this.reload(item.sandbox);
      })(item, decision);
    });
  }

  /** Loads every sandbox on disk; the caller then applies restart policies via recover(). */
  load(): void {
    for (const n of this.d.state.incomplete()) this.d.state.abandon(n);
    for (const name of this.d.state.names()) this.attach(name);
  }

  private attach(name: string): Runtime | null {
    const rec = this.d.state.record(name);
    if (!rec) return null;
    const onDisk = this.d.state.state(name);
    const st = onDisk ?? emptyState('stopped');
    const r: Runtime = { rec, st, persisted: onDisk !== null ? stateContent(onDisk) : null, writeSeq: 0, store: new PolicyStore(this.d.state.policyDir(name)), running: null, proxy: null, watcher: null, rev: null, enforcement: null, pins: null, requested: false, attempt: 0, timer: null, ended: null, chain: Promise.resolve() };
    this.rt.set(name, r);
    return r;
  }

  names(): string[] {
    return [...this.rt.keys()].sort();
  }

  get(name: string): Runtime {
    const r = this.rt.get(name);
    if (!r) throw new NotFoundError(name, suggest(name, this.names()));
    return r;
  }

  view(name: string): SandboxView {
    const r = this.get(name);
    return {
      name,
      state: r.st.state,
      desired: r.st.desired,
      pid: r.st.pid,
      restarts: r.st.restarts,
      restart: r.rec.restart,
      blueprint: r.rec.blueprint,
      blueprintDigest: r.rec.blueprintDigest,
      workspace: r.rec.workspace,
      command: r.rec.command,
      presets: r.rec.presets ?? [],
      inference: r.rec.inference ?? null,
      createdAt: r.rec.createdAt,
      startedAt: r.st.startedAt,
      lastExit: r.st.lastExit,
      policyRevision: r.rev,
      enforcement: r.enforcement,
      learning: this.learning.view(name),
      agent: r.rec.agent ?? null,
      startError: r.startError ?? null,
    };
  }

  list(): SandboxView[] {
    return this.names().map((n) => this.view(n));
  }

  execSocket(name: string): string {
    return join(this.d.paths.sockets, `${this.get(name).rec.id}.x`);
  }

  logFile(name: string): string {
    this.get(name);
    return this.d.state.logFile(name);
  }

  async policy(name: string): Promise<{ revisions: RevisionMeta[]; current: { rev: number; text: string } | null; applied: number | null }> {
    const r = this.get(name);
    const cur = await r.store.get();
    return { revisions: await r.store.history(), current: cur ? { rev: cur.meta.rev, text: cur.text } : null, applied: r.rev };
  }

  /**
   * A learning proposal from the sandbox's audit records, on top of its current revision; writes
   * nothing (the operator reviews the diff, then `setPolicy` with `ifRev`). Issue 22.
   */
  async learn(name: string, opts: { sinceMs?: number; sinceSeq?: number; unmatched?: 'ask' | 'deny' | 'audit' }): Promise<LearnProposal> {
    const r = this.get(name);
    const cur = await r.store.get();
    try {
      return await proposeLearning({ home: this.d.paths.home, sandbox: name, baseText: cur?.text ?? null, baseRev: cur?.meta.rev ?? null, ...opts });
    } catch (err) {
      throw new InvalidRequestError(err instanceof Error ? err.message : String(err));
    }
  }

  /** Writes a new revision (refused when it drops rules, unless confirm; or when `ifRev` is no longer current) and hot-reloads it. */
  async setPolicy(name: string, text: string, opts: { author: string; reason: string; confirm: boolean; ifRev?: number; source?: string }): Promise<SetResult & { reloaded: boolean }> {
    const r = this.get(name);
    let out: SetResult;
    try {
      out = await r.store.set(text, opts);
    } catch (err) {
      throw new InvalidRequestError(err instanceof Error ? err.message : String(err));
    }
    const rl = out.applied ? await this.reload(name) : { reloaded: false };
    return { ...out, reloaded: rl.reloaded };
  }

  isRunning(name: string): boolean {
    return this.get(name).st.state === 'running';
  }

  /**
   * Sandboxes that were meant to run when the previous supervisor died: their processes died
   * with it (PDEATHSIG), so each is recorded as ended by `supervisor_lost` and its restart policy
   * decides whether it starts again. Returns the names started.
   */
  async recover(): Promise<string[]> {
    // First settle every record (synchronously, before any start), then start what the restart
    // policies say: a client never sees a dead sandbox reported as running.
    const toStart: string[] = [];
    for (const name of this.names()) {
      const r = this.get(name);
      const crashed = r.st.state === 'running' || r.st.state === 'starting' || r.st.state === 'backoff' || r.st.state === 'stopping';
      const wasLive = crashed || (r.st.state === 'exited' && r.st.lastExit?.reason === 'supervisor_stopped');
      if (!wasLive) continue;
      if (crashed) {
        r.st = { ...r.st, state: 'exited', pid: null, lastExit: { code: null, signal: null, reason: 'supervisor_lost', at: new Date().toISOString() } };
        this.d.audit({ kind: 'sandbox.lifecycle', activity: 'supervisor_lost', sandbox: name, severity: 'medium' });
      }
      const reason = r.st.lastExit?.reason ?? 'supervisor_lost';
      this.setState(r, r.st.desired === 'running' ? 'exited' : 'stopped', { reason });
      if (r.st.desired === 'running' && shouldRestart(r.rec.restart, { status: 1, requested: false })) toStart.push(name);
    }
    for (const name of toStart) await this.start(name, 'recover').catch(() => undefined);
    return toStart;
  }

  async create(input: CreateInput): Promise<SandboxView> {
    if (this.closing) throw new InvalidRequestError('the supervisor is shutting down');
    if (!validName(input.name)) throw new InvalidRequestError(`bad sandbox name ${JSON.stringify(input.name)}: ${NAME_RULE}`);
    if (this.rt.has(input.name)) throw new DuplicateNameError(`a sandbox named ${input.name} already exists`);
    if (input.blueprint !== undefined && input.policy !== undefined) throw new InvalidRequestError('use a blueprint or a policy, not both');
    const workspace = resolve(input.workspace);
    if (!existsSync(workspace)) throw new InvalidRequestError(`workspace ${workspace} does not exist`);
    const { policy, digest, source, agentCommand, agentEnv, agent } = await creationPolicy(input);
    const command = input.command && input.command.length > 0 ? input.command : agentCommand;
    const env = { ...agentEnv, ...(input.env ?? {}) };
    const secret = findCredential(env);
    if (secret) throw new InvalidRequestError(credentialRefusal(secret));
    if (command.length === 0) throw new InvalidRequestError('no command: give one after `--` or use a blueprint');
    const rec: SandboxRecord = {
      version: 1,
      name: input.name,
      id: randomBytes(5).toString('hex'),
      createdAt: new Date().toISOString(),
      blueprint: input.blueprint ?? null,
      blueprintDigest: digest,
      policyFile: input.policy !== undefined ? resolve(input.policy) : null,
      command,
      workspace,
      restart: input.restart ?? 'never',
      env,
      presets: input.presets ?? [],
      inference: input.inference ?? null,
      agent: input.command && input.command.length > 0 ? null : agent,
    };
    // Warm pool (pool.ts): a sandbox built for exactly this blueprint, policy and workspace
    // becomes this one (its id names the sockets it already has); anything else starts fresh.
    const key = this.poolKey(input, rec, policy, digest);
    let pooled = key !== null ? this.pool.take(key) : null;
    if (pooled !== null) rec.id = pooled.id;
    try {
      this.d.state.claim(rec.name);
    } catch (err) {
      pooled?.running.kill('SIGKILL'); // taken from the pool: it must not outlive a create that failed
      throw err;
    }
    // The first revisions, state.json and spec.json (the commit point, renamed last) are written
    // together, their fsyncs overlapping (StateStore.commit). A create that starts the sandbox
    // records it as starting: what launch() would write first, so it need not be written twice.
    const initial = input.start === false ? emptyState('stopped') : { ...emptyState('running'), state: 'starting' as const };
    const written: { first: Revision | null; policyError: unknown } = { first: null, policyError: null };
    try {
      await this.d.state.commit(rec, initial, async () => {
        try {
          written.first = await writeInitialRevisions(new PolicyStore(this.d.state.policyDir(input.name)), policy, source, input.presets ?? [], input.name);
        } catch (err) {
          written.policyError = err;
          throw err;
        }
      });
    } catch (err) {
      this.d.state.abandon(input.name);
      pooled?.running.kill('SIGKILL');
      const e = written.policyError;
      if (e !== null) throw new InvalidRequestError(`policy: ${e instanceof Error ? e.message : String(e)}`);
      throw err;
    }
    if (pooled !== null && !adoptHome(pooled.home, this.d.state.homeDir(input.name))) {
      pooled.running.kill('SIGKILL'); // its HOME could not become this sandbox's: start fresh
      pooled = null;
    }
    if (pooled !== null) this.claims.set(input.name, pooled);
    const r = this.attach(input.name) as Runtime;
    // Its first start uses the revision just written (nothing else has had a turn to write one).
    if (input.start !== false) r.first = written.first;
    this.d.audit({ kind: 'sandbox.lifecycle', activity: 'create', sandbox: input.name, binary: command[0], target: workspace, detail: { blueprint: rec.blueprint, blueprint_digest: digest, restart: rec.restart, argc: command.length } }, true);
    this.d.bus.publish(input.name, { type: 'sandbox.created', blueprint: rec.blueprint, digest, workspace, restart: rec.restart });
    if (input.start !== false) await this.start(input.name, 'create');
    if (key !== null) this.pool.note(key);
    return this.view(r.rec.name);
  }

  /** The pool key of a create, or null when the pool never serves it. */
  private poolKey(input: CreateInput, rec: SandboxRecord, policy: Policy, digest: string | null): PoolKey | null {
    const pool = input.blueprint ?? (input.policy === undefined ? 'default' : null);
    if (pool === null || !this.pool.pooled(pool)) return null;
    // Presets add revisions the pooled proxy was not built with; an agent's config is generated
    // per sandbox; a stopped create has nothing to claim it.
    if ((input.presets ?? []).length > 0 || rec.agent !== null || input.start === false) return null;
    // An exec allowlist that cannot be widened needs the command in Landlock's execute set before
    // it is known: such a sandbox is never built ahead (the helper refuses --await-argv there).
    const exec = compileSandboxSpec(policy).exec;
    if (exec.allow.length > 0 && exec.unmatched !== 'allow') return null;
    return { pool, digest, workspace: rec.workspace, policy };
  }

  private serial<T>(r: Runtime, fn: () => Promise<T>): Promise<T> {
    const next = r.chain.then(fn, fn);
    r.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * A state change: in memory and on the bus at once; in state.json now (synchronously), or with
   * `soon` without waiting for it (the answer it is part of does not wait for its fsyncs). `soon`
   * is only for a change that recovery reads as it reads what is on disk already: running after
   * starting, both "was live" to recover(), so a crash before it lands is recovered the same way.
   * A later change makes a `soon` write that has not been renamed yet drop out (writeSeq): an
   * older state never lands after a newer one.
   */
  private setState(r: Runtime, state: SandboxState, extra: { pid?: number | null; reason?: string | null; code?: number | null; signal?: string | null } = {}, when: 'now' | 'soon' = 'now'): void {
    r.st = { ...r.st, state, pid: extra.pid !== undefined ? extra.pid : state === 'running' ? r.st.pid : null };
    r.writeSeq++;
    const current = (): boolean => this.rt.get(r.rec.name) === r; // not destroyed (the name may be another sandbox's by now)
    if (when === 'now') persistState(this.d.state, r, current);
    else void persistStateSoon(this.d.state, r, current);
    this.d.bus.publish(r.rec.name, { type: 'sandbox.state', state, pid: r.st.pid, reason: extra.reason ?? null, code: extra.code ?? null, signal: extra.signal ?? null, restarts: r.st.restarts });
  }

  /** Starts the sandbox; resolves once it runs (or failed to). */
  start(name: string, why = 'operator'): Promise<SandboxView> {
    const r = this.get(name);
    return this.serial(r, async () => {
      if (r.timer) {
        clearTimeout(r.timer);
        r.timer = null;
      }
      if (r.running) return this.view(name);
      r.st = { ...r.st, desired: 'running' };
      if (why === 'operator') r.attempt = 0;
      await this.launch(r, why);
      return this.view(name);
    });
  }

  private async launch(r: Runtime, why: string): Promise<void> {
    const name = r.rec.name;
    // A warm sandbox that create() took for this one (only ever for its first start); one that
    // ended meanwhile is let go, and this start is a fresh one.
    let pooled = this.claims.get(name) ?? null;
    this.claims.delete(name);
    if (pooled?.ended === true) {
      await pooled.proxy.close().catch(() => undefined);
      pooled = null;
    }
    if (this.closing) {
      pooled?.running.kill('SIGKILL');
      return;
    }
    this.setState(r, 'starting', { reason: why });
    const log = new LogWriter(this.d.state.logFile(name));
    let proxy: EgressProxy | null = null;
    try {
      const first = r.first ?? null;
      r.first = null;
      const cur = first ?? (await r.store.get());
      if (!cur) throw new Error('no policy revision');
      r.rev = cur.meta.rev;
      this.learning.policy(name, cur.policy, 'start');
      const spec = compileSandboxSpec(cur.policy);
      // Bounded output (issue 19): rotation and a rate cap from the policy's limits.
      let logDropsAudited = false;
      log.configure(spec.limits, {
        onNotice: (l) => this.d.bus.publish(name, { type: 'log', stream: l.stream, line: l.line }),
        onDropped: (bytes) => {
          this.d.bus.publish(name, { type: 'sandbox.limit_hit', limit: 'log_rate', dropped: bytes });
          // Audited once per run: a flood is worth one record, not one a second.
          if (logDropsAudited) return;
          logDropsAudited = true;
          this.d.audit({ kind: 'sandbox.lifecycle', activity: 'limit_hit', sandbox: name, target: 'log_rate', severity: 'medium', detail: { dropped: bytes } });
        },
      });
      r.pins = null; // pins.json is the truth at every start
      const pins = loadPins(this.d.state, r);
      const onPin = (exe: string, sha256: string): void => savePin(this.d.state, this.d.audit, r, exe, sha256);
      const onEgress = (e: EgressEvent): void => {
        this.learning.egressEvent(name, e);
        this.d.bus.publish(name, { type: 'egress', event: e });
      };
      // exec is static: an "allow always" is written for the next creation, and remembered here
      // (for this run only) so that the running sandbox is not asked again about the same path.
      const execAllowedAlways = new Set<string>();
      const onExecAsk = async (ask: { path: string }): Promise<'allow' | 'deny'> => {
        if (execAllowedAlways.has(ask.path)) return 'allow';
        const res = await this.d.approvals.request({ sandbox: name, kind: 'exec', binary: ask.path });
        if (res.verdict === 'allow' && res.always && res.persisted === true) execAllowedAlways.add(ask.path);
        return res.verdict;
      };
      let running: RunningSandbox;
      if (pooled !== null) {
        // Warm pool (pool.ts): built and verified for exactly this blueprint, policy and workspace;
        // the same ready report is replayed as the sandbox's own, then the claim brings the command.
        proxy = pooled.proxy;
        proxy.adopt(name);
        r.proxy = proxy;
        running = pooled.running;
        pooled.sink = { event: (e) => this.onHelperEvent(r, e), execAsk: onExecAsk, pin: onPin, egress: onEgress };
        for (const e of pooled.early) this.onHelperEvent(r, e);
        if (!running.claim(r.rec.command, { ...proxyEnvironment(proxy.caBundlePath), HOME: '/home/sandbox', ...r.rec.env })) throw new Error('the pooled sandbox ended before its claim');
      } else {
        proxy = await startEgressProxy({
          socketPath: join(this.d.paths.sockets, `${r.rec.id}.p`),
          caDir: join(this.d.paths.sockets, `${r.rec.id}.ca`), // one CA per sandbox: a leaf minted for one can never be trusted by another
          sandboxId: name,
          rules: compileEgressRules(cur.policy),
          approvals: this.d.approvals,
          pins, // across restarts: a binary replaced while the sandbox was down stays denied
          onPin,
          onEvent: onEgress,
          audit: { append: async (ev, o) => this.d.audit(ev, o?.durable ?? false) },
          ...(this.d.inference !== undefined ? { inference: this.d.inference } : {}),
        });
        r.proxy = proxy;
        spec.filesystem.readOnly = [...spec.filesystem.readOnly, proxy.caBundlePath];
        // An installed agent (design.md "Planned": Agents; docs/agents.md): its install and generated
        // config bound read-only, re-resolved at every start, so a missing install fails the start
        // with the command that fixes it instead of a crash loop on exit 127.
        const agentRun = r.rec.agent ? this.agentRun(r, cur.policy) : null;
        if (agentRun) spec.filesystem.readOnly = [...spec.filesystem.readOnly, ...agentRun.readOnly];
        const execSock = join(this.d.paths.sockets, `${r.rec.id}.x`);
        running = runSandbox({
          spec,
          command: r.rec.command,
          workspace: r.rec.workspace,
          sandboxId: name,
          home: this.d.state.homeDir(name),
          proxySocket: proxy.socketPath,
          stdio: 'pipe',
          ...(this.d.helper !== undefined ? { helper: this.d.helper } : {}),
          extraHelperArgs: ['--exec-socket', execSock], // native/PROTOCOL.md "Exec socket"
          stateDir: this.d.paths.home, // this supervisor's home, whatever NEMOCLAW_HOME says
          stateFiles: [proxy.caBundlePath, ...(agentRun?.deliberate ?? [])], // certificates only (the CA key beside it stays out), and the agent's code and config
          ...(r.rec.policyFile !== null ? { obeys: [r.rec.policyFile] } : {}),
          extraEnv: { ...proxyEnvironment(proxy.caBundlePath), HOME: '/home/sandbox', ...r.rec.env, ...(agentRun?.env ?? {}) },
          onEvent: (e) => this.onHelperEvent(r, e),
          onExecAsk,
        });
      }
      r.running = running;
      r.requested = false;
      const startedMs = Date.now();
      log.follow(running.stdout, 'stdout', (l) => this.d.bus.publish(name, { type: 'log', stream: l.stream, line: l.line }));
      log.follow(running.stderr, 'stderr', (l) => this.d.bus.publish(name, { type: 'log', stream: l.stream, line: l.line }));
      r.ended = running.result.then((res) => this.onEnd(r, res, startedMs, log));
      const ready = await running.ready;
      if (!ready) {
        // Refused or failed before ready: wait for the end so callers see the settled state.
        await r.ended;
        return;
      }
      if (r.running === running) {
        r.st = { ...r.st, startedAt: new Date().toISOString() };
        r.startError = null;
        this.setState(r, 'running', { pid: ready.pid, reason: why }, 'soon');
        this.watchPolicy(r);
        this.d.audit({ kind: 'sandbox.lifecycle', activity: 'start', sandbox: name, binary: r.rec.command[0], detail: { pid: ready.pid, why, policy_revision: r.rev } });
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      log.note(`start failed: ${msg}`);
      r.startError = msg;
      log.close();
      pooled?.running.kill('SIGKILL');
      await proxy?.close().catch(() => undefined);
      r.proxy = null;
      r.running = null;
      r.st = { ...r.st, lastExit: { code: 125, signal: null, reason: 'start_failed', at: new Date().toISOString() } };
      this.setState(r, 'failed', { reason: msg, code: 125 });
      this.d.audit({ kind: 'sandbox.lifecycle', activity: 'start_failed', sandbox: name, severity: 'high', detail: { why: msg.slice(0, 200) } }, true);
      this.afterEnd(r, 125, 0);
    }
  }

  /** The installed agent's binds and environment for this start (throws the one-line reason when it is not installed). */
  private agentRun(r: Runtime, policy: Policy): AgentRun {
    const agent = r.rec.agent as { name: string; version: string };
    const route = this.d.routes?.get(r.rec.name) ?? null;
    return prepareAgentRun({
      agent,
      configDir: join(this.d.state.dir(r.rec.name), 'agent'),
      workspace: r.rec.workspace,
      aliases: route?.models.map((m) => m.alias) ?? [],
      fallbackModel: r.rec.inference?.model ?? null,
      tools: { ask: policy.tools?.ask ?? [], approvalTimeoutMs: compileEgressRules(policy).approvalTimeoutMs },
    });
  }

  /** Pinned binaries of a sandbox (running or not): exe -> sha256. */
  pins(name: string): Record<string, string> {
    const r = this.get(name);
    try {
      return Object.fromEntries(loadPins(this.d.state, r));
    } catch (err) {
      throw new InvalidRequestError((err as Error).message);
    }
  }

  /**
   * Forgets the pin of `exe` (every pin without one), on disk and in the running proxy: the next
   * connection by that binary pins what is there then. The operator's answer to a legitimate
   * upgrade (apt upgraded curl) that the pin now denies.
   */
  unpin(name: string, exe?: string): Promise<{ unpinned: string[]; pins: Record<string, string> }> {
    const r = this.get(name);
    return this.serial(r, async () => {
      let pins: Map<string, string>;
      try {
        pins = loadPins(this.d.state, r);
      } catch (err) {
        if (exe !== undefined) throw new InvalidRequestError(`${(err as Error).message}; without a path, unpin forgets every pin`);
        pins = new Map(); // an unreadable pins.json is replaced by an empty one
      }
      const unpinned = exe === undefined ? [...pins.keys()] : pins.has(exe) ? [exe] : [];
      if (exe !== undefined && unpinned.length === 0) throw new NotPinnedError(`sandbox ${name} has no pin for ${exe}${pins.size > 0 ? ` (pinned: ${[...pins.keys()].join(', ')})` : ' (nothing is pinned)'}`);
      const next = new Map(pins);
      for (const p of unpinned) next.delete(p);
      this.d.state.writePins(name, next); // disk first: if this throws, nothing was forgotten
      r.pins = next;
      r.proxy?.unpin(exe);
      this.d.audit({ kind: 'sandbox.lifecycle', activity: 'unpin', sandbox: name, severity: 'medium', ...(exe !== undefined ? { binary: exe } : {}), detail: { count: unpinned.length, running: r.proxy !== null } }, true);
      this.d.bus.publish(name, { type: 'sandbox.unpinned', paths: unpinned });
      return { unpinned, pins: Object.fromEntries(next) };
    });
  }

  private onHelperEvent(r: Runtime, e: SandboxEvent): void {
    const { ts: _ts, sandbox: _s, ...event } = e;
    this.d.bus.publish(r.rec.name, { type: 'helper', event });
    this.learning.helperEvent(r.rec.name, e);
    if (e.type === 'ready') r.enforcement = enforcementSummary(e);
    const rec = helperAuditRecord(r.rec.name, e);
    if (rec !== null) this.d.audit(rec);
  }

  private async onEnd(r: Runtime, res: SandboxResult, startedMs: number, log: LogWriter): Promise<void> {
    r.running = null;
    r.watcher?.close();
    r.watcher = null;
    await r.proxy?.close().catch(() => undefined);
    r.proxy = null;
    log.close();
    rmSync(join(this.d.paths.sockets, `${r.rec.id}.x`), { force: true });
    const reason = res.failure ?? res.reason;
    r.st = { ...r.st, lastExit: { code: res.code, signal: res.signal, reason: res.reason, at: new Date().toISOString() } };
    this.d.audit({ kind: 'sandbox.lifecycle', activity: 'exit', sandbox: r.rec.name, detail: { status: res.status, code: res.code, signal: res.signal, reason: res.reason, requested: r.requested } });
    if (this.closing) {
      // Not the operator's stop: the sandbox comes back with the next supervisor (restart policy).
      r.st = { ...r.st, lastExit: { code: res.code, signal: res.signal, reason: 'supervisor_stopped', at: new Date().toISOString() } };
      this.setState(r, 'exited', { reason: 'supervisor_stopped', code: res.code, signal: res.signal });
      return;
    }
    const requested = r.requested;
    this.setState(r, requested ? 'stopped' : res.status === 125 ? 'failed' : 'exited', { reason, code: res.code, signal: res.signal });
    if (!requested) this.afterEnd(r, res.status, Date.now() - startedMs);
  }

  private afterEnd(r: Runtime, status: number, ranMs: number): void {
    if (this.closing || r.st.desired !== 'running' || !shouldRestart(r.rec.restart, { status, requested: r.requested })) return;
    const delay = backoffDelay(r.attempt);
    r.attempt = nextAttempt(r.attempt, ranMs);
    r.st = { ...r.st, restarts: r.st.restarts + 1 };
    this.setState(r, 'backoff', { reason: `restart in ${delay} ms` });
    this.d.bus.publish(r.rec.name, { type: 'sandbox.backoff', delayMs: delay, attempt: r.attempt });
    this.d.audit({ kind: 'sandbox.lifecycle', activity: 'restart', sandbox: r.rec.name, detail: { policy: r.rec.restart, delay_ms: delay, attempt: r.attempt, status } });
    r.timer = setTimeout(() => {
      r.timer = null;
      void this.serial(r, async () => {
        if (!r.running && r.st.desired === 'running' && !this.closing) await this.launch(r, 'restart');
      });
    }, delay);
  }

  private watchPolicy(r: Runtime): void {
    if (r.watcher) return;
    try {
      let pending: NodeJS.Timeout | null = null;
      r.watcher = watch(r.store.revisionsDir, () => {
        if (pending) return;
        pending = setTimeout(() => {
          pending = null;
          void this.reload(r.rec.name).catch(() => undefined);
        }, 50);
      });
      r.watcher.on('error', () => undefined);
    } catch {
      // no revisions dir: nothing to watch
    }
  }

  /** Re-reads the latest revision and applies its network policies to the running proxy. */
  async reload(name: string): Promise<{ rev: number | null; reloaded: boolean; closed: number }> {
    const r = this.get(name);
    const cur = await r.store.get();
    if (!cur || cur.meta.rev === r.rev) return { rev: r.rev, reloaded: false, closed: 0 };
    r.rev = cur.meta.rev;
    this.learning.policy(name, cur.policy, 'reload');
    let closed = 0;
    if (r.proxy) closed = r.proxy.reload(compileEgressRules(cur.policy));
    this.d.bus.publish(name, { type: 'policy.revision', rev: cur.meta.rev, reloaded: r.proxy !== null, closed });
    this.d.audit({ kind: 'policy.revision', activity: 'reload', sandbox: name, policy_revision: String(cur.meta.rev), detail: { closed, author: cur.meta.author } });
    return { rev: cur.meta.rev, reloaded: r.proxy !== null, closed };
  }

  stop(name: string, why = 'operator'): Promise<SandboxView> {
    const r = this.get(name);
    return this.serial(r, async () => {
      r.st = { ...r.st, desired: 'stopped' };
      await this.halt(r, why);
      this.setState(r, 'stopped', { reason: why });
      return this.view(name);
    });
  }

  private async halt(r: Runtime, why: string): Promise<void> {
    if (r.timer) {
      clearTimeout(r.timer);
      r.timer = null;
    }
    const running = r.running;
    if (!running) return;
    r.requested = true;
    this.setState(r, 'stopping', { reason: why });
    this.d.audit({ kind: 'sandbox.lifecycle', activity: 'stop', sandbox: r.rec.name, detail: { why } });
    running.kill('SIGTERM');
    const t = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    await r.ended;
    clearTimeout(t);
  }

  async restart(name: string): Promise<SandboxView> {
    await this.stop(name, 'restart');
    return this.start(name);
  }

  destroy(name: string): Promise<void> {
    const r = this.get(name);
    return this.serial(r, async () => {
      r.st = { ...r.st, desired: 'stopped' };
      await this.halt(r, 'destroy');
      this.rt.delete(name);
      this.learning.forget(name);
      this.d.state.destroy(name);
      this.d.audit({ kind: 'sandbox.lifecycle', activity: 'destroy', sandbox: name }, true);
      this.d.bus.publish(name, { type: 'sandbox.destroyed' });
    });
  }

  /** Stops every sandbox (state stays `desired: running` so they come back with the supervisor). */
  async close(): Promise<void> {
    this.closing = true;
    for (const p of this.claims.values()) p.running.kill('SIGKILL');
    this.claims.clear();
    await this.pool.close(); // nothing pooled outlives the supervisor
    await Promise.all(
      [...this.rt.values()].map(async (r) => {
        if (r.timer) clearTimeout(r.timer);
        const running = r.running;
        if (!running) return;
        r.requested = true;
        running.kill('SIGTERM');
        const t = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
        await r.ended;
        clearTimeout(t);
      }),
    );
  }
}
