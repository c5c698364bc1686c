// The warm pool (issue 23): sandboxes started ahead of time for a blueprint and a workspace, each
// with its own egress proxy, built, enforced and verified (the same runSandbox checks as a fresh
// start), then waiting before execve (native --await-argv). `create` takes one when the blueprint,
// its policy and the workspace match exactly; the command and environment go with the claim, the
// proxy adopts the sandbox's name, the home directory is moved into the sandbox's state. A pooled
// sandbox runs one command and is never handed out again; whatever ends while pooled is cleaned
// up and replaced. Pool sizes come from config.json ({"pool": {"BLUEPRINT": N}}; `default` is the
// built-in default policy), read at supervisor start. The workspace is part of the mount setup
// (bound, protected, Landlock rules), so the pool is per blueprint + workspace: a workspace gets
// warm sandboxes once a sandbox was created there from that blueprint.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ApprovalQueue } from '../approvals/index.ts';
import { startEgressProxy } from '../egress/index.ts';
import type { EgressEvent, EgressProxy, InferenceRouter } from '../egress/index.ts';
import type { Policy } from '../policy/index.ts';
import { compileEgressRules, compileSandboxSpec } from '../policy/index.ts';
import type { ExecDecision, RunningSandbox, SandboxEvent } from '../sandbox/index.ts';
import { runSandbox } from '../sandbox/index.ts';
import type { HomePaths } from '../state/index.ts';
import type { AuditFn } from './types.ts';

/** At most this many warm sandboxes per blueprint and workspace (each holds a helper and a proxy). */
export const MAX_POOL_SIZE = 8;
/** Workspaces kept warm per blueprint: the least recently used one is drained past this. */
export const MAX_POOL_WORKSPACES = 4;
/**
 * A refill waits this long after the create that took a warm sandbox: starting one generates a
 * CA and forks a helper synchronously on the supervisor's event loop, which should not delay that
 * create's answer or the first exec that usually follows it.
 */
export const REFILL_DELAY_MS = 200;
/** Refill backoff after a failed start: doubles from the first to the last. */
const BACKOFF_MS = [1000, 2000, 5000, 15_000, 60_000] as const;

/** Pool sizes from config.json's "pool" object; anything unusable is skipped with one warning line. */
export function poolSizes(configFile: string, warn: (l: string) => void): Map<string, number> {
  const out = new Map<string, number>();
  let cfg: unknown;
  try {
    cfg = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch {
    return out; // no config.json: no pool
  }
  const raw = (cfg as { pool?: unknown } | null)?.pool;
  if (raw === undefined) return out;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    warn('config.json: pool must be an object {"BLUEPRINT": N}; no sandboxes are pooled');
    return out;
  }
  for (const [name, n] of Object.entries(raw)) {
    if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > MAX_POOL_SIZE) {
      warn(`config.json: pool.${name} must be a whole number from 0 to ${MAX_POOL_SIZE} (${JSON.stringify(n)}); not pooled`);
      continue;
    }
    if ((n as number) > 0) out.set(name, n as number);
  }
  return out;
}

/** What a pooled sandbox was built for: equal keys, equal sandboxes. */
export interface PoolKey {
  /** Blueprint name, or `default`. */
  pool: string;
  digest: string | null;
  workspace: string;
  policy: Policy;
}

function keyString(k: PoolKey): string {
  return JSON.stringify([k.pool, k.digest, k.workspace, k.policy]);
}

/** Where a pooled sandbox's events, asks and pins go: nowhere useful until it is claimed. */
export interface PoolSink {
  event(e: SandboxEvent): void;
  execAsk(ask: { path: string }): Promise<ExecDecision>;
  pin(exe: string, sha256: string): void;
  egress(e: EgressEvent): void;
}

export interface PooledSandbox {
  /** Becomes the sandbox record's id: the exec socket, proxy socket and CA paths are named after it. */
  id: string;
  /** Host directory bound as the sandbox's HOME; moved into the sandbox's state at the claim. */
  home: string;
  proxy: EgressProxy;
  running: RunningSandbox;
  /** Events before the claim (the ready report), replayed to the claiming sandbox. */
  early: SandboxEvent[];
  sink: PoolSink;
  /** Its helper has ended (a claim can no longer start anything in it). */
  ended: boolean;
}

export interface WarmPoolDeps {
  paths: HomePaths;
  sizes: Map<string, number>;
  approvals: ApprovalQueue;
  audit: AuditFn;
  helper?: string;
  inference?: InferenceRouter;
  /** How many are warm for a blueprint and workspace, after every change. */
  onChange?: (pool: string, workspace: string, warm: number) => void;
}

interface Slot {
  key: PoolKey;
  ready: PooledSandbox[];
  starting: number;
  failures: number;
  timer: NodeJS.Timeout | null;
  usedAt: number;
}

export class WarmPool {
  private readonly d: WarmPoolDeps;
  private readonly slots = new Map<string, Slot>();
  private readonly live = new Set<PooledSandbox>();
  /** Starts in flight: close() waits for them (each then ends what it started). */
  private readonly inflight = new Set<Promise<unknown>>();
  private closing = false;
  private readonly dir: string;

  constructor(deps: WarmPoolDeps) {
    this.d = deps;
    this.dir = join(deps.paths.run, 'pool');
    // A previous supervisor's pooled sandboxes died with it (PDEATHSIG); their homes go too.
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether sandboxes of this blueprint (or `default`) are pooled at all. */
  pooled(pool: string): boolean {
    return (this.d.sizes.get(pool) ?? 0) > 0;
  }

  /** How many are warm for this key now (tests, status). */
  size(key: PoolKey): number {
    return this.slots.get(keyString(key))?.ready.length ?? 0;
  }

  /** A warm sandbox for exactly this key, removed from the pool (never handed out twice); null when none. */
  take(key: PoolKey): PooledSandbox | null {
    const slot = this.slots.get(keyString(key));
    const sb = slot?.ready.shift() ?? null;
    if (!slot || !sb) return null;
    this.live.delete(sb); // the caller owns it now: it ends with its sandbox, not with the pool
    slot.usedAt = Date.now();
    this.changed(slot);
    return sb; // refilled by note(), once the create that took it has answered
  }

  /** A create of this key has answered: keep its workspace warm from now on (refilled after REFILL_DELAY_MS). */
  note(key: PoolKey): void {
    if (this.closing || !this.pooled(key.pool)) return;
    const ks = keyString(key);
    let slot = this.slots.get(ks);
    if (!slot) {
      // Another policy or digest for the same blueprint and workspace replaces the old slot.
      for (const [k, s] of this.slots) if (s.key.pool === key.pool && s.key.workspace === key.workspace) this.drop(k, s);
      slot = { key, ready: [], starting: 0, failures: 0, timer: null, usedAt: Date.now() };
      this.slots.set(ks, slot);
      const mine = [...this.slots.entries()].filter(([, s]) => s.key.pool === key.pool).sort((a, b) => a[1].usedAt - b[1].usedAt);
      while (mine.length > MAX_POOL_WORKSPACES) {
        const [k, s] = mine.shift() as [string, Slot];
        this.drop(k, s);
      }
    }
    slot.usedAt = Date.now();
    const s = slot;
    setTimeout(() => this.fill(s), REFILL_DELAY_MS).unref();
  }

  /** Ends every pooled sandbox (supervisor shutdown): resolves once none is left. */
  async close(): Promise<void> {
    this.closing = true;
    for (const [k, s] of this.slots) this.drop(k, s);
    await Promise.all([...this.inflight]);
    await Promise.all([...this.live].map((sb) => this.end(sb)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private drop(k: string, s: Slot): void {
    this.slots.delete(k);
    if (s.timer) clearTimeout(s.timer);
    const had = s.ready.length;
    for (const sb of s.ready.splice(0)) void this.end(sb);
    if (had > 0) this.changed(s);
  }

  private changed(s: Slot): void {
    this.d.onChange?.(s.key.pool, s.key.workspace, s.ready.length);
  }

  /** Starts what is missing, one at a time per slot; a failure backs off before the next try. */
  private fill(slot: Slot): void {
    if (this.closing || slot.timer || slot.starting > 0) return;
    if (this.slots.get(keyString(slot.key)) !== slot) return;
    const want = this.d.sizes.get(slot.key.pool) ?? 0;
    if (slot.ready.length >= want) return;
    slot.starting++;
    const p = this.start(slot.key)
      .then((sb) => {
        slot.failures = 0;
        if (this.closing || this.slots.get(keyString(slot.key)) !== slot) return this.end(sb);
        slot.ready.push(sb);
        this.changed(slot);
        // Ended while waiting (killed, OOM, a helper failure): out of the pool, and replaced.
        void sb.running.result.then(() => {
          const i = slot.ready.indexOf(sb);
          if (i < 0) return;
          slot.ready.splice(i, 1);
          this.changed(slot);
          void this.end(sb);
          this.fill(slot);
        });
      })
      .catch((err: unknown) => {
        const delay = BACKOFF_MS[Math.min(slot.failures, BACKOFF_MS.length - 1)] as number;
        slot.failures++;
        this.d.audit({ kind: 'sandbox.lifecycle', activity: 'pool_start_failed', severity: 'medium', target: slot.key.workspace, detail: { pool: slot.key.pool, why: (err as Error).message.slice(0, 200), retry_ms: delay } });
        slot.timer = setTimeout(() => {
          slot.timer = null;
          this.fill(slot);
        }, delay);
        slot.timer.unref();
      })
      .finally(() => {
        slot.starting--;
        this.inflight.delete(p);
        this.fill(slot);
      });
    this.inflight.add(p);
  }

  private async start(key: PoolKey): Promise<PooledSandbox> {
    const id = randomBytes(5).toString('hex');
    const relayId = `pool-${id}`;
    const home = join(this.dir, id, 'home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const early: SandboxEvent[] = [];
    const sink: PoolSink = {
      event: (e) => early.push(e),
      execAsk: async () => 'deny', // nothing runs before the claim
      pin: () => undefined,
      egress: () => undefined,
    };
    const sockets = this.d.paths.sockets;
    let proxy: EgressProxy | null = null;
    try {
      proxy = await startEgressProxy({
        socketPath: join(sockets, `${id}.p`),
        caDir: join(sockets, `${id}.ca`),
        sandboxId: relayId,
        rules: compileEgressRules(key.policy),
        approvals: this.d.approvals,
        pins: new Map(), // a new sandbox has no pins yet
        onPin: (exe, sha256) => sb.sink.pin(exe, sha256),
        onEvent: (e) => sb.sink.egress(e),
        audit: { append: async (ev, o) => this.d.audit(ev, o?.durable ?? false) },
        ...(this.d.inference !== undefined ? { inference: this.d.inference } : {}),
      });
      const spec = compileSandboxSpec(key.policy);
      spec.filesystem.readOnly = [...spec.filesystem.readOnly, proxy.caBundlePath];
      const running = runSandbox({
        spec,
        command: [],
        pooled: true,
        workspace: key.workspace,
        sandboxId: relayId,
        home,
        proxySocket: proxy.socketPath,
        stdio: 'pipe',
        ...(this.d.helper !== undefined ? { helper: this.d.helper } : {}),
        extraHelperArgs: ['--exec-socket', join(sockets, `${id}.x`)],
        stateDir: this.d.paths.home,
        stateFiles: [proxy.caBundlePath],
        onEvent: (e) => sb.sink.event(e),
        onExecAsk: (ask) => sb.sink.execAsk(ask),
      });
      const sb: PooledSandbox = { id, home, proxy, running, early, sink, ended: false };
      void running.result.then(() => (sb.ended = true));
      this.live.add(sb);
      const ready = await running.ready;
      if (ready === null) {
        const res = await running.result;
        await this.end(sb);
        throw new Error(res.failure ?? `ended before ready (${res.reason})`);
      }
      return sb;
    } catch (err) {
      await proxy?.close().catch(() => undefined);
      rmSync(join(this.dir, id), { recursive: true, force: true });
      throw err;
    }
  }

  /** Kills a pooled sandbox that will never be claimed and removes what it had on the host. */
  private async end(sb: PooledSandbox): Promise<void> {
    sb.running.kill('SIGKILL');
    await sb.running.result;
    await sb.proxy.close().catch(() => undefined);
    rmSync(join(this.d.paths.sockets, `${sb.id}.x`), { force: true });
    rmSync(join(this.dir, sb.id), { recursive: true, force: true });
    this.live.delete(sb);
  }
}

/**
 * Moves a pooled sandbox's HOME into the sandbox's state (the helper's bind follows the directory,
 * which is still empty of anything but what the helper created). False when it cannot.
 */
export function adoptHome(from: string, to: string): boolean {
  try {
    rmdirSync(to); // just created by StateStore.create, empty
    renameSync(from, to);
    rmSync(dirname(from), { recursive: true, force: true }); // the pool's directory for it, now empty
    return true;
  } catch {
    mkdirSync(to, { recursive: true, mode: 0o700 });
    return false;
  }
}
