// A pull-style reader over a byte stream with backpressure: the proxy reads request heads and
// bodies from it one piece at a time, and can hand the stream (and what it already buffered) to a
// relay or a TLS layer.

import type { Duplex } from 'node:stream';

const HIGH_WATER = 256 * 1024;

export class StreamReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly stream: Duplex;
  private detached = false;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
  }

  private readonly onData = (b: Buffer): void => {
    this.chunks.push(b);
    this.length += b.length;
    if (this.length >= HIGH_WATER) this.stream.pause();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  get buffered(): number {
    return this.length;
  }

  get isEnded(): boolean {
    return this.ended && this.length === 0;
  }

  /** Waits until more bytes arrive; false when the stream ended instead. */
  more(): Promise<boolean> {
    if (this.ended) return Promise.resolve(false);
    if (this.stream.isPaused()) this.stream.resume();
    const before = this.length;
    return new Promise((resolve) => {
      this.wake = () => resolve(this.length > before || !this.ended);
    });
  }

  /** Everything buffered so far, as one buffer (not consumed). */
  peek(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Drops n bytes from the front. */
  consume(n: number): void {
    let left = n;
    while (left > 0 && this.chunks.length > 0) {
      const c = this.chunks[0] as Buffer;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.length -= n - left;
    if (this.length < HIGH_WATER && this.stream.isPaused() && !this.detached) this.stream.resume();
  }

  /**
   * One line (UTF-8, without its LF), consumed; null at end of stream, when `maxBytes` arrive
   * without an LF, or after `timeoutMs` (the bytes stay buffered).
   */
  async readLine(maxBytes: number, timeoutMs?: number): Promise<string | null> {
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? null
        : setTimeout(() => {
            timedOut = true;
            this.notify(); // wakes a pending more() without new bytes
          }, timeoutMs);
    try {
      for (;;) {
        const buf = this.peek();
        const nl = buf.indexOf(0x0a);
        if (nl >= 0) {
          this.consume(nl + 1);
          return buf.toString('utf8', 0, nl);
        }
        if (buf.length > maxBytes || timedOut || !(await this.more()) || timedOut) return null;
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * Returns up to `max` bytes, waiting for at least one; null at end of stream. With `timeoutMs`,
   * 'timeout' when no byte arrived in that time (the stream stays usable).
   */
  async read(max: number, timeoutMs?: number): Promise<Buffer | null | 'timeout'> {
    let timedOut = false;
    const timer =
      timeoutMs === undefined || this.length > 0
        ? null
        : setTimeout(() => {
            timedOut = true;
            this.notify();
          }, timeoutMs);
    try {
      while (this.length === 0) {
        if (timedOut) return 'timeout';
        if (!(await this.more()) && this.length === 0) return timedOut ? 'timeout' : null;
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    const c = this.chunks[0] as Buffer;
    const out = c.length <= max ? c : c.subarray(0, max);
    this.consume(out.length);
    return out;
  }

  /** Puts bytes back at the front. */
  unshift(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.unshift(b);
    this.length += b.length;
  }

  /** Stops reading; the stream is left paused and the buffered bytes are returned. */
  detach(): Buffer {
    this.detached = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    this.stream.pause();
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.length = 0;
    this.notify();
    return rest;
  }
}
