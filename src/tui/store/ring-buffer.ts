// Bounded FIFO with a drop counter. Pushing into a full buffer overwrites the oldest entry and
// counts it as dropped; nothing ever grows without bound.

export class RingBuffer<T> {
  readonly capacity: number;
  #items: (T | undefined)[];
  #start = 0;
  #size = 0;
  #dropped = 0;
  #total = 0;
  /** Bumped on every mutation, so readers can cache `toArray()` per version. */
  #version = 0;
  #cache: { version: number; items: readonly T[] } | undefined;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }
  /** Entries overwritten because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }
  /** Entries ever pushed. */
  get total(): number {
    return this.#total;
  }
  get version(): number {
    return this.#version;
  }

  push(item: T): void {
    const end = (this.#start + this.#size) % this.capacity;
    this.#items[end] = item;
    if (this.#size < this.capacity) this.#size += 1;
    else {
      this.#start = (this.#start + 1) % this.capacity;
      this.#dropped += 1;
    }
    this.#total += 1;
    this.#version += 1;
  }

  /** The entry `back` positions from the newest (0 = newest). */
  peekFromEnd(back: number): T | undefined {
    if (back < 0 || back >= this.#size) return undefined;
    return this.#items[(this.#start + this.#size - 1 - back) % this.capacity];
  }

  /** Replace the entry `back` positions from the newest (used to collapse repeats in place). */
  replaceFromEnd(back: number, item: T): void {
    if (back < 0 || back >= this.#size) throw new RangeError(`no entry ${back} from the end`);
    this.#items[(this.#start + this.#size - 1 - back) % this.capacity] = item;
    this.#version += 1;
  }

  clear(): void {
    this.#items = new Array<T | undefined>(this.capacity);
    this.#start = 0;
    this.#size = 0;
    this.#version += 1;
  }

  /** Oldest first. The returned array is frozen and cached until the next mutation. */
  toArray(): readonly T[] {
    if (this.#cache?.version === this.#version) return this.#cache.items;
    const out: T[] = new Array<T>(this.#size);
    for (let i = 0; i < this.#size; i++) out[i] = this.#items[(this.#start + i) % this.capacity] as T;
    const items = Object.freeze(out);
    this.#cache = { version: this.#version, items };
    return items;
  }
}
