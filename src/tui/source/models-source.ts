// The Models pane's feed. NO React. The models component (and with it dockerode) is imported only
// when start() is first called, which run.ts does when the pane is first shown or a GPU process is
// found in a container, so `nemoclaw tui` never pays for it at start-up (docs/tui.md, "Models pane").
// Provider registrations that stop/restart or the list's reconcile make are audited as `nemoclaw
// models` audits them; what reconcile found changed behind our back goes to the Logs pane.
import type { ModelAction } from '../input/types.ts';
import type { ModelRow, ModelsStatus, TuiEvent } from '../store/events.ts';
import type * as ModelsDoor from '../../models/index.ts';

export interface ModelsFeedOptions {
  ingest: (e: TuiEvent) => void;
  now: () => number;
  /** NEMOCLAW_HOME whose models are shown (default: the environment's). */
  home?: string;
  env?: NodeJS.ProcessEnv;
  pollMs?: number;
}

export class ModelsFeed {
  readonly #o: ModelsFeedOptions;
  #watch: InstanceType<typeof ModelsDoor.ModelWatch> | null = null;
  #models: InstanceType<typeof ModelsDoor.Models> | null = null;
  #starting: Promise<void> | null = null;
  #stopped = false;
  #rows: readonly ModelRow[] = [];

  constructor(options: ModelsFeedOptions) {
    this.#o = options;
  }

  get started(): boolean {
    return this.#starting !== null;
  }

  /** Our model containers as last listed (for the GPU owner join). */
  get rows(): readonly ModelRow[] {
    return this.#rows;
  }

  #emit(status: ModelsStatus, models: ModelRow[]): void {
    this.#rows = models;
    this.#o.ingest({ type: 'models', ts: this.#o.now(), status, models });
  }

  /** Loads the models component and starts watching; idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#emit({ state: 'starting' }, []);
    try {
      const m = await import('../../models/index.ts');
      const { nemoclawHome } = await import('../../state/index.ts');
      if (this.#stopped) return;
      this.#models = new m.Models(this.#o.home ?? nemoclawHome(this.#o.env), this.#o.env);
      this.#watch = new m.ModelWatch(this.#models, {
        ...(this.#o.pollMs !== undefined ? { pollMs: this.#o.pollMs } : {}),
        onUpdate: (status, models) => {
          this.#emit(status, models);
          void this.#drain();
        },
      });
      this.#watch.start();
    } catch (err) {
      this.#emit({ state: 'down', reason: err instanceof Error ? err.message : String(err), attempts: 1, retrying: false }, []);
    }
  }

  /** Notes to the Logs pane, provider changes to the audit log (as `nemoclaw models` does). */
  async #drain(): Promise<void> {
    const m = this.#models;
    if (m === null) return;
    for (const n of m.notes.splice(0)) this.#o.ingest({ type: 'log', ts: this.#o.now(), sandbox: 'models', stream: 'system', line: n });
    const changes = m.changes.splice(0);
    if (changes.length === 0) return;
    try {
      const { openAuditLog } = await import('../../audit/index.ts');
      const log = await openAuditLog({ home: m.home });
      try {
        for (const c of changes) await log.append({ kind: 'inference.decision', activity: c.activity, target: c.name, actor: { process: 'nemoclaw tui', pid: process.pid }, detail: c.detail }, { durable: true });
      } finally {
        await log.close();
      }
    } catch (err) {
      this.#o.ingest({ type: 'log', ts: this.#o.now(), sandbox: 'models', stream: 'stderr', line: `audit of provider changes failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  async logs(name: string, lines: number): Promise<{ ok: true; lines: string[] } | { ok: false; error: string }> {
    await this.start();
    if (this.#watch === null) return { ok: false, error: 'the Docker engine is not available' };
    try {
      return { ok: true, lines: await this.#watch.logs(name, lines) };
    } catch (err) {
      return { ok: false, error: oneLine(err) };
    }
  }

  async act(name: string, action: ModelAction): Promise<{ ok: boolean; message: string }> {
    await this.start();
    const w = this.#watch;
    if (w === null) return { ok: false, message: 'the Docker engine is not available' };
    try {
      const message = action === 'stop' ? await w.stopModel(name) : await w.restartModel(name);
      return { ok: true, message };
    } catch (err) {
      return { ok: false, message: oneLine(err) };
    } finally {
      await this.#drain();
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.stop();
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
