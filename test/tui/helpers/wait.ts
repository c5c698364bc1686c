// Poll until a condition holds, with a bounded number of tries: no timed assertions, no sleeps
// that a slow shared machine could break, and never an unbounded loop.
export async function waitFor<T>(probe: () => T | undefined | false | null, what: string | (() => string), opts: { tries?: number; everyMs?: number } = {}): Promise<T> {
  const tries = opts.tries ?? 400;
  const every = opts.everyMs ?? 25;
  for (let i = 0; i < tries; i++) {
    const v = probe();
    if (v !== undefined && v !== false && v !== null) return v;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
}
