// Per-minute aggregation of denials. A sandbox that hammers a blocked port must not flood the log
// (or the SIEM), yet every denial must be countable. Rule: the first denial of a kind/sandbox/
// binary/target/rule/decision in a wall-clock minute is written at once (count omitted = 1); the
// others in that minute are only counted, and when the minute ends one summary record with the
// same fields carries `count` = how many were not written individually (detail.window_total is
// the minute's total). Summing `count ?? 1` over the records therefore gives the exact number.
import type { AuditEventInput } from './record.ts';

export const WINDOW_MS = 60_000;
/** Bound on distinct keys per window; beyond it denials are written individually. */
export const MAX_KEYS = 10_000;

interface Bucket {
  event: AuditEventInput;
  window: number;
  total: number;
  first: Promise<{ seq: number }>;
}

export type Offer = { write: true } | { write: false; first: Promise<{ seq: number }> };

function keyOf(e: AuditEventInput): string {
  return JSON.stringify([e.kind, e.sandbox, e.binary, e.target, e.rule, e.decision, e.activity]);
}

export class DenialAggregator {
  private readonly buckets = new Map<string, Bucket>();

  /** Asks whether this denial must be written now; if not, it has been counted. */
  offer(event: AuditEventInput, nowMs: number): Offer {
    const window = Math.floor(nowMs / WINDOW_MS);
    const b = this.buckets.get(keyOf(event));
    if (b !== undefined && b.window === window) {
      b.total += 1;
      return { write: false, first: b.first };
    }
    return { write: true };
  }

  /** Registers the first, written denial of a window (its append promise gives later callers a seq). */
  opened(event: AuditEventInput, nowMs: number, first: Promise<{ seq: number }>): void {
    if (this.buckets.size >= MAX_KEYS) return;
    this.buckets.set(keyOf(event), { event, window: Math.floor(nowMs / WINDOW_MS), total: 1, first });
  }

  /** Summary events for windows that ended before nowMs (all windows when nowMs is Infinity). */
  drain(nowMs: number): AuditEventInput[] {
    const window = Number.isFinite(nowMs) ? Math.floor(nowMs / WINDOW_MS) : Infinity;
    const out: AuditEventInput[] = [];
    for (const [k, b] of this.buckets) {
      if (b.window >= window) continue;
      this.buckets.delete(k);
      if (b.total > 1) out.push(summary(b));
    }
    return out;
  }

  get size(): number {
    return this.buckets.size;
  }
}

function summary(b: Bucket): AuditEventInput {
  const start = new Date(b.window * WINDOW_MS).toISOString();
  const end = new Date((b.window + 1) * WINDOW_MS).toISOString();
  return {
    ...b.event,
    count: b.total - 1,
    detail: { ...(b.event.detail ?? {}), aggregated: true, window_start: start, window_end: end, window_total: b.total },
  };
}
