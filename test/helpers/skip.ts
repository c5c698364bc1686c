// Skips that say why. A test that cannot run on this host calls skipUnless(ctx, condition, reason)
// first thing in its body (not describe.skipIf / it.skipIf / it.runIf, which record no reason):
// vitest's output shows the reason next to the test, and the test's meta carries it to the JSON
// report, from which scripts/test-summary.mjs (the closing summary CI prints) names every skipped
// test with its reason. CI runs as root with the helper built and must skip nothing: .ci/run
// fails when CI=true and anything was skipped.
import type { TestContext } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Why this test was skipped (set by skipUnless). */
    skipReason?: string;
  }
}

export const IS_ROOT = process.getuid?.() === 0;

/** Skips the running test, with its reason recorded, unless `condition` holds. */
export function skipUnless(ctx: TestContext, condition: boolean, reason: string): void {
  if (condition) return;
  ctx.task.meta.skipReason = reason;
  ctx.skip(reason);
}
