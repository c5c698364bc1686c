// Where a request is scanned: inline for small bodies (the common case; about 0.5 ms for 32 KiB,
// bench/router.ts), in a worker with a deadline for large ones, so that no input can hold the
// supervisor's event loop (every sandbox's proxy runs on it). A timeout or an error rejects, and
// the router fails closed (docs/inference.md, "Privacy modes").
import type { Worker } from 'node:worker_threads';
import type { Redaction, RedactionContext } from './redact.ts';
import { redactJson, redactionContext } from './redact.ts';

export interface ScanResult {
  out: unknown;
  ctx: RedactionContext;
}

export class ScanTimeoutError extends Error {}

export class Scanner {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: { out: unknown; found: Array<Redaction & { value: string }> }) => void; reject: (e: Error) => void }>();
  readonly inlineMaxBytes: number;
  readonly deadlineMs: number;

  constructor(opts: { inlineMaxBytes?: number; deadlineMs?: number } = {}) {
    this.inlineMaxBytes = opts.inlineMaxBytes ?? 64 * 1024;
    this.deadlineMs = opts.deadlineMs ?? 5000;
  }

  async scan(body: unknown, bytes: number, known: string[]): Promise<ScanResult> {
    if (bytes <= this.inlineMaxBytes) {
      const ctx = redactionContext(known);
      return { out: redactJson(body, ctx), ctx };
    }
    const r = await this.inWorker(body, known);
    // The mapping is rebuilt here: restore() needs it in this process.
    const ctx = redactionContext(known);
    for (const f of r.found) {
      ctx.byValue.set(f.value, f.placeholder);
      ctx.byPlaceholder.set(f.placeholder, f.value);
      ctx.found.push(f);
    }
    ctx.next = r.found.length + 1;
    return { out: r.out, ctx };
  }

  private start(): Worker {
    // node:worker_threads at the first large body, not imported: every importer of this component
    // (`providers list`) would load it at start (issue 23).
    const w = new (process.getBuiltinModule('node:worker_threads').Worker)(new URL('./scan-worker.ts', import.meta.url));
    w.unref();
    w.on('message', (m: { id: number; ok: boolean; out?: unknown; found?: Array<Redaction & { value: string }>; error?: string }) => {
      const p = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!p) return;
      if (m.ok) p.resolve({ out: m.out, found: m.found ?? [] });
      else p.reject(new Error(m.error ?? 'scan failed'));
    });
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = null;
      for (const p of this.waiting.values()) p.reject(err);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', () => fail(new Error('the scan worker exited')));
    return w;
  }

  private inWorker(body: unknown, known: string[]): Promise<{ out: unknown; found: Array<Redaction & { value: string }> }> {
    this.worker ??= this.start();
    const w = this.worker;
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A scan past its deadline may never end: the worker goes, and every scan it held fails.
        this.waiting.delete(id);
        if (this.worker === w) this.worker = null;
        void w.terminate();
        reject(new ScanTimeoutError(`the scan did not finish within ${this.deadlineMs} ms`));
      }, this.deadlineMs);
      this.waiting.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      w.postMessage({ id, body, known });
    });
  }

  close(): Promise<number> | undefined {
    const w = this.worker;
    this.worker = null;
    return w?.terminate();
  }
}
