// The event bus: publish() is O(1) and never waits on anyone (the proxy and the helpers call it
// from their event handlers). Events go into a ring of `capacity`; a subscriber is a cursor into
// that ring, woken with setImmediate. A subscriber that falls further behind than the ring
// reaches loses the oldest events and is told how many (drop counters), never slows producers.
import type { BusEvent, BusEventBody } from './events.ts';

export interface BusStats {
  published: number;
  buffered: number;
  oldestSeq: number;
  nextSeq: number;
  subscribers: number;
  dropped: number;
}

export interface Subscription {
  /** Seq of the next event this subscriber will be given. */
  readonly cursor: number;
  /** Events this subscriber lost (fell out of the ring before it read them). */
  readonly dropped: number;
  /** Stop delivering; call when the client goes away. */
  close(): void;
  /** Pause delivery (backpressure); resume() continues from the cursor. */
  pause(): void;
  resume(): void;
}

export interface SubscriberHandlers {
  onEvent(e: BusEvent): void;
  /** When given, called instead of onEvent with each delivery turn's events (one socket write). */
  onBatch?(events: BusEvent[]): void;
  /** `count` events between the cursor and the ring's oldest were lost. */
  onDropped?(count: number, resumeSeq: number): void;
}

interface Sub {
  cursor: number;
  dropped: number;
  paused: boolean;
  closed: boolean;
  scheduled: boolean;
  h: SubscriberHandlers;
  filter: ((e: BusEvent) => boolean) | null;
}

export class EventBus {
  private readonly ring: (BusEvent | undefined)[];
  private readonly capacity: number;
  private next = 1;
  private readonly subs = new Set<Sub>();
  private droppedTotal = 0;
  /** Synchronous listeners inside the supervisor (restart policy, headless): never slow. */
  private readonly taps = new Set<(e: BusEvent) => void>();

  constructor(capacity = 8192) {
    this.capacity = Math.max(16, capacity);
    this.ring = new Array<BusEvent | undefined>(this.capacity);
  }

  publish(sandbox: string | null, body: BusEventBody): BusEvent {
    const e = { seq: this.next, ts: new Date().toISOString(), sandbox, ...body } as BusEvent;
    this.ring[this.next % this.capacity] = e;
    this.next++;
    for (const t of this.taps) {
      try {
        t(e);
      } catch {
        // a tap's failure is its own
      }
    }
    for (const s of this.subs) this.schedule(s);
    return e;
  }

  /** Seq of the oldest event still buffered. */
  oldest(): number {
    return Math.max(1, this.next - this.capacity);
  }

  get nextSeq(): number {
    return this.next;
  }

  /** Buffered events with seq > after (at most `limit`). */
  since(after: number, limit = this.capacity): BusEvent[] {
    const out: BusEvent[] = [];
    for (let s = Math.max(after + 1, this.oldest()); s < this.next && out.length < limit; s++) {
      const e = this.ring[s % this.capacity];
      if (e && e.seq === s) out.push(e);
    }
    return out;
  }

  tap(fn: (e: BusEvent) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** Delivers every event with seq > after, then new ones as they come. */
  subscribe(after: number, h: SubscriberHandlers, filter?: (e: BusEvent) => boolean): Subscription {
    const s: Sub = { cursor: Math.max(1, after + 1), dropped: 0, paused: false, closed: false, scheduled: false, h, filter: filter ?? null };
    this.subs.add(s);
    this.schedule(s);
    const unsubscribe = (): void => {
      this.subs.delete(s);
    };
    const wake = (): void => this.schedule(s);
    return {
      get cursor() {
        return s.cursor;
      },
      get dropped() {
        return s.dropped;
      },
      close() {
        s.closed = true;
        unsubscribe();
      },
      pause() {
        s.paused = true;
      },
      resume() {
        if (!s.paused) return;
        s.paused = false;
        wake();
      },
    };
  }

  stats(): BusStats {
    return { published: this.next - 1, buffered: Math.min(this.capacity, this.next - 1), oldestSeq: this.oldest(), nextSeq: this.next, subscribers: this.subs.size, dropped: this.droppedTotal };
  }

  private schedule(s: Sub): void {
    if (s.scheduled || s.paused || s.closed) return;
    s.scheduled = true;
    setImmediate(() => {
      s.scheduled = false;
      this.deliver(s);
    });
  }

  private deliver(s: Sub): void {
    // A bounded batch per turn so one fast producer and many clients share the loop fairly.
    const batch: BusEvent[] | null = s.h.onBatch ? [] : null;
    for (let n = 0; n < 4096 && !s.paused && !s.closed && s.cursor < this.next; n++) {
      const oldest = this.oldest();
      if (s.cursor < oldest) {
        if (batch !== null && batch.length > 0) s.h.onBatch?.(batch.splice(0));
        const lost = oldest - s.cursor;
        s.dropped += lost;
        this.droppedTotal += lost;
        s.cursor = oldest;
        s.h.onDropped?.(lost, oldest);
        continue;
      }
      const e = this.ring[s.cursor % this.capacity] as BusEvent;
      s.cursor++;
      if (s.filter !== null && !s.filter(e)) continue;
      if (batch !== null) batch.push(e);
      else s.h.onEvent(e);
    }
    if (batch !== null && batch.length > 0) s.h.onBatch?.(batch);
    if (!s.paused && !s.closed && s.cursor < this.next) this.schedule(s);
  }
}
