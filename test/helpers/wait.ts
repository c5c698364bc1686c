// The one way a test waits for something: poll a condition until it holds, within a bound in
// milliseconds, and on timeout fail with what was awaited (and the last error the condition
// threw). No fixed sleeps standing in for a condition, no unbounded loops, no assertion on how
// long anything took.
//
//   await waitFor(() => queue.list().length === 1, 'one pending approval');
//   const item = await waitFor(async () => (await api.list()).find((i) => i.host === 'a.test'), 'the a.test item', { withinMs: 30_000 });

export interface WaitOptions {
  /** Give up after this long (default 10 s: generous for a loaded 2-core CI host). */
  withinMs?: number;
  /** Pause between two checks (default 25 ms). */
  everyMs?: number;
}

/** What a condition returns while it does not hold yet. */
type NotYet = undefined | null | false;

const TIMED_OUT = Symbol('timed out');

/**
 * Resolves with the condition's first value other than undefined, null or false. A condition
 * that throws (a file not written yet, a server not listening yet) counts as not holding; a
 * condition that never settles counts against the bound too. `what` names what was awaited, as a
 * string or, to show state at the time of failure (a screen, an output), as a function.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string | (() => string), opts: WaitOptions = {}): Promise<Exclude<T, NotYet>> {
  const withinMs = opts.withinMs ?? 10_000;
  const everyMs = opts.everyMs ?? 25;
  const deadline = Date.now() + withinMs;
  let lastError: unknown = undefined;
  let checks = 0;
  for (;;) {
    checks += 1;
    try {
      const v = await beforeDeadline(cond(), deadline);
      if (v !== TIMED_OUT && v !== undefined && v !== null && v !== false) return v as Exclude<T, NotYet>;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(everyMs, left)));
  }
  const name = typeof what === 'function' ? what() : what;
  const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  throw new Error(`timed out after ${withinMs} ms (${checks} checks) waiting for ${name}${why}`);
}

function beforeDeadline<T>(v: T | Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> | T {
  if (!(v instanceof Promise)) return v;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((r) => {
    timer = setTimeout(() => r(TIMED_OUT), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([v, late]).finally(() => clearTimeout(timer));
}
