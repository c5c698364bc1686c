// The TUI's view of this home's model containers (docs/tui.md, "Models pane"): the list (labels,
// through Models.list, which also keeps the router's providers truthful), each running container's
// Docker stats stream (CPU % and memory from two consecutive samples, statsFigures below), its
// readiness (the same probe `models status` runs), uptime, its last log lines, and the stop and
// restart the pane's keys ask for. The engine going away is a status line with the fix, retried
// with a growing, bounded interval, never a crash.
import { createInterface } from 'node:readline';
import type { Models } from './models.ts';
import { ModelError, demux } from './models.ts';

/** The fields of one Docker stats sample that CPU and memory are computed from. */
export interface StatsSample {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number | undefined> };
}

export interface StatsFigures {
  /** Percent of one CPU (200 = two cores busy), as `docker stats` shows it; null until two samples. */
  cpuPercent: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
}

/**
 * CPU and memory from two consecutive stats samples (the stream sends one a second). CPU: the
 * container's usage delta over the host's, times the online CPUs. Memory: usage less the page cache
 * the kernel can drop (cgroup v2 `inactive_file`, v1 `total_inactive_file`, else `cache`).
 */
export function statsFigures(prev: StatsSample | null, cur: StatsSample): StatsFigures {
  const m = cur.memory_stats;
  const usage = m?.usage;
  const cache = m?.stats?.['inactive_file'] ?? m?.stats?.['total_inactive_file'] ?? m?.stats?.['cache'] ?? 0;
  const memoryBytes = usage === undefined ? null : Math.max(0, usage - cache);
  const memoryLimitBytes = m?.limit !== undefined && m.limit > 0 ? m.limit : null;
  let cpuPercent: number | null = null;
  const c1 = cur.cpu_stats;
  const c0 = prev?.cpu_stats;
  if (c0 !== undefined && c1 !== undefined && c1.cpu_usage?.total_usage !== undefined && c0.cpu_usage?.total_usage !== undefined && c1.system_cpu_usage !== undefined && c0.system_cpu_usage !== undefined) {
    const cpu = c1.cpu_usage.total_usage - c0.cpu_usage.total_usage;
    const sys = c1.system_cpu_usage - c0.system_cpu_usage;
    const cpus = c1.online_cpus ?? c1.cpu_usage.percpu_usage?.length ?? 1;
    cpuPercent = sys > 0 && cpu >= 0 ? Number(((cpu / sys) * cpus * 100).toFixed(1)) : 0;
  }
  return { cpuPercent, memoryBytes, memoryLimitBytes };
}

/** One model as the pane shows it. Plain data (it crosses into the TUI's store). */
export interface WatchedModel {
  name: string;
  engine: string;
  image: string;
  model: string | null;
  port: number;
  state: string;
  exitCode: number | null;
  restartCount: number;
  /** Epoch ms the container last started, while running. */
  startedAt: number | null;
  /** null: not probed yet (or not running). */
  ready: boolean | null;
  registered: boolean;
  /** The short (12-character) id, for the GPU join by cgroup. */
  containerId: string;
  cpuPercent: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  /** The last few lines of its output (raw: the TUI makes them inert). */
  recentLogs: string[];
}

export type WatchStatus = { state: 'starting' } | { state: 'ok' } | { state: 'down'; reason: string; attempts: number; retrying: boolean };

export interface ModelWatchOptions {
  onUpdate: (status: WatchStatus, models: WatchedModel[]) => void;
  /** List and probe period. */
  pollMs?: number;
  /** Engine down: first retry after this, doubling up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Engine down: stop retrying after this many failed attempts in a row (the status says so). */
  maxAttempts?: number;
  /** Log lines kept per model for the pane. */
  recentLines?: number;
}

/** A model found ready is probed again after this long (every poll while it is not ready). */
const READY_RECHECK_MS = 30_000;

interface Follow {
  stop: () => void;
  prev: StatsSample | null;
  figures: StatsFigures;
}

/** The ModelError of an engine that does not answer (its message names the fix), else null. */
function engineDown(err: unknown): string | null {
  return err instanceof ModelError && err.code === 'engine' ? err.message : null;
}

export class ModelWatch {
  readonly #models: Models;
  readonly #o: Required<Omit<ModelWatchOptions, 'onUpdate'>> & Pick<ModelWatchOptions, 'onUpdate'>;
  readonly #follows = new Map<string, Follow>();
  /** Restarted from the pane: registered again by `status` once ready, within this deadline. */
  readonly #reregister = new Map<string, number>();
  /** The last readiness probe per model: which container start it was for, and when. */
  readonly #probes = new Map<string, { key: string; ready: boolean; at: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #busy = false;
  #attempts = 0;
  #status: WatchStatus = { state: 'starting' };
  #rows: WatchedModel[] = [];

  constructor(models: Models, options: ModelWatchOptions) {
    this.#models = models;
    this.#o = { pollMs: 2000, retryMs: 1000, maxRetryMs: 30_000, maxAttempts: 40, recentLines: 5, ...options };
  }

  start(): void {
    this.#o.onUpdate(this.#status, []);
    void this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const f of this.#follows.values()) f.stop();
    this.#follows.clear();
  }

  /** Poll now (after an action), without waiting for the period. */
  refresh(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#poll();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, ms);
    this.#timer.unref?.();
  }

  #emit(): void {
    if (!this.#stopped) this.#o.onUpdate(this.#status, this.#rows);
  }

  async #poll(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      this.#rows = await this.#list();
      this.#attempts = 0;
      this.#status = { state: 'ok' };
      this.#emit();
      this.#schedule(this.#o.pollMs);
    } catch (err) {
      const down = engineDown(err);
      this.#attempts += 1;
      for (const f of this.#follows.values()) f.stop();
      this.#follows.clear();
      const retrying = this.#attempts < this.#o.maxAttempts;
      this.#status = { state: 'down', reason: down ?? `Docker engine: ${err instanceof Error ? err.message : String(err)}`.replace(/\s*\n\s*/g, ' '), attempts: this.#attempts, retrying };
      this.#rows = [];
      this.#emit();
      if (retrying) this.#schedule(Math.min(this.#o.maxRetryMs, this.#o.retryMs * 2 ** Math.min(10, this.#attempts - 1)));
    } finally {
      this.#busy = false;
    }
  }

  async #list(): Promise<WatchedModel[]> {
    const infos = await this.#models.list();
    const rows: WatchedModel[] = [];
    const running = new Set<string>();
    for (const i of infos) {
      const isRunning = i.state === 'running';
      let ready: boolean | null = null;
      if (isRunning) {
        running.add(i.name);
        this.#follow(i.name, i.containerId);
        // Each probe is a request the server logs: a ready model is probed again every 30 s, not
        // every poll, so its log is not all probes (a restart gives it a new startedAt).
        const key = `${i.containerId}@${i.startedAt ?? ''}`;
        const known = this.#probes.get(i.name);
        if (known !== undefined && known.key === key && known.ready && Date.now() - known.at < READY_RECHECK_MS) ready = true;
        else {
          const c = await this.#models.docker.getContainer(i.containerId).inspect().catch(() => null);
          ready = c === null ? null : await this.#models.readyNow(c);
          if (ready !== null) this.#probes.set(i.name, { key, ready, at: Date.now() });
        }
        if (ready && this.#reregister.has(i.name) && !i.registered) {
          const s = await this.#models.status(i.name).catch(() => null);
          if (s?.registered === true) i.registered = true;
        }
      }
      if (!isRunning || ready === true || Date.now() > (this.#reregister.get(i.name) ?? 0)) this.#reregister.delete(i.name);
      const logs = await this.logs(i.name, this.#o.recentLines).catch((): string[] => []);
      const f = this.#follows.get(i.name);
      rows.push({
        name: i.name,
        engine: i.engine,
        image: i.image,
        model: i.model,
        port: i.port,
        state: i.state,
        exitCode: i.exitCode,
        restartCount: i.restartCount,
        startedAt: i.startedAt !== null ? Date.parse(i.startedAt) : null,
        ready,
        registered: i.registered,
        containerId: i.containerId,
        cpuPercent: isRunning ? (f?.figures.cpuPercent ?? null) : null,
        memoryBytes: isRunning ? (f?.figures.memoryBytes ?? null) : null,
        memoryLimitBytes: isRunning ? (f?.figures.memoryLimitBytes ?? null) : null,
        recentLogs: logs,
      });
    }
    for (const [name, f] of this.#follows) {
      if (!running.has(name)) {
        f.stop();
        this.#follows.delete(name);
      }
    }
    return rows;
  }

  /** Follows one container's stats stream (one JSON sample a second) until it ends or we stop. */
  #follow(name: string, id: string): void {
    // Not after stop(): a list that was in flight when the watch stopped must not open a stream.
    if (this.#stopped || this.#follows.has(name)) return;
    const ac = new AbortController();
    const f: Follow = { stop: () => ac.abort(), prev: null, figures: { cpuPercent: null, memoryBytes: null, memoryLimitBytes: null } };
    this.#follows.set(name, f);
    const drop = (): void => {
      if (this.#follows.get(name) === f) this.#follows.delete(name);
    };
    // dockerode's types omit abortSignal for stats; docker-modem honours it (and the stream is destroyed on abort too).
    const container = this.#models.docker.getContainer(id);
    const stats = container.stats.bind(container) as unknown as (o: { stream: true; abortSignal: AbortSignal }) => Promise<NodeJS.ReadableStream & { destroy?: () => void }>;
    stats({ stream: true, abortSignal: ac.signal })
      .then((s) => {
        if (ac.signal.aborted) return void s.destroy?.();
        ac.signal.addEventListener('abort', () => s.destroy?.());
        const rl = createInterface({ input: s });
        rl.on('line', (line) => {
          let sample: StatsSample;
          try {
            sample = JSON.parse(line) as StatsSample;
          } catch {
            return;
          }
          f.figures = statsFigures(f.prev, sample);
          f.prev = sample;
        });
        rl.on('close', drop);
        s.on('error', drop);
      })
      .catch(drop);
  }

  /** The model's last `lines` lines of output (stdout and stderr), raw. */
  async logs(name: string, lines: number): Promise<string[]> {
    const buf = (await this.#models.docker.getContainer(name).logs({ stdout: true, stderr: true, follow: false, tail: Math.max(1, Math.min(10_000, lines)) })) as unknown as Buffer;
    const text = demux(buf).replace(/\r/g, '');
    const out = text.split('\n');
    if (out[out.length - 1] === '') out.pop();
    return out.slice(-lines);
  }

  /** Unregisters the provider, then stops the container (as `models stop`). */
  async stopModel(name: string): Promise<string> {
    const r = await this.#models.stop(name);
    this.refresh();
    return `model ${name} stopped (${r.info.state})${r.unregistered ? `; provider ${name} unregistered` : ''}`;
  }

  /** Stop (unregistering), start again, and register once it answers ready (within 15 minutes). */
  async restartModel(name: string): Promise<string> {
    await this.#models.stop(name);
    try {
      await this.#models.docker.getContainer(name).start();
    } catch (err) {
      throw new ModelError(`model ${name} did not start again: ${(err as Error).message}`.replace(/\s*\n\s*/g, ' '));
    }
    this.#reregister.set(name, Date.now() + 15 * 60_000);
    this.refresh();
    return `model ${name} restarted; registered again once ready`;
  }
}
