// The supervisor's audit size budget (issue 19; docs/audit.md "Retention"): when config.json in
// NEMOCLAW_HOME sets {"audit": {"max_bytes": SIZE}}, the oldest segments are pruned under a signed
// retention checkpoint while the log is over it, at start and every 10 minutes. config.json is
// read each time, so a budget set or changed while the supervisor runs applies at the next check.
// The check itself is one stat per segment; the prune (which verifies the log first, on this
// event loop) runs only when the log is over budget, i.e. about once per 64 MiB segment written.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pruneAudit } from '../audit/index.ts';
import { parseSize } from '../policy/index.ts';
import type { HomePaths } from '../state/index.ts';

export const RETENTION_CHECK_MS = 10 * 60 * 1000;

/** The budget in bytes, or null when none is set (or config.json says something unusable). */
export function auditBudget(configFile: string, warn: (l: string) => void): number | null {
  let cfg: unknown;
  try {
    cfg = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch {
    return null; // no config.json: no budget
  }
  const raw = (cfg as { audit?: { max_bytes?: unknown } } | null)?.audit?.max_bytes;
  if (raw === undefined) return null;
  const n = typeof raw === 'string' || typeof raw === 'number' ? parseSize(raw) : null;
  if (n === null || n <= 0) {
    warn(`config.json: audit.max_bytes is not a size (${JSON.stringify(raw)}); the audit log is not pruned`);
    return null;
  }
  return n;
}

function segmentBytes(auditDir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(auditDir)) if (/^seg-\d{6,}\.jsonl$/.test(name)) total += statSync(join(auditDir, name)).size;
  } catch {
    // no audit directory yet, or a segment pruned between the listing and the stat: next time
  }
  return total;
}

export interface AuditRetention {
  /** One check now (tests, start-up); resolves when any prune it started is done. */
  check(): Promise<void>;
  /** No more checks; resolves once a prune in progress is done. */
  stop(): Promise<void>;
}

export function startAuditRetention(paths: HomePaths, warn: (l: string) => void): AuditRetention {
  let running: Promise<void> | null = null;
  const check = (): Promise<void> => {
    running ??= (async () => {
      const budget = auditBudget(paths.config, warn);
      if (budget === null || segmentBytes(join(paths.home, 'audit')) <= budget) return;
      try {
        await pruneAudit({ home: paths.home, maxBytes: budget, actor: 'supervisor' }); // it records what it removed
      } catch (err) {
        warn(`audit retention: ${(err as Error).message}`);
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void check(), RETENTION_CHECK_MS);
  timer.unref();
  void check();
  return {
    check,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
