// Where the audit trail lives and how its non-log state is written: both are src/state's (one
// home resolution, one layout, one durable atomic write for every component). Kept as the audit
// files' local names for them.
import { join } from 'node:path';
import { homePaths, nemoclawHome } from '../state/index.ts';

export { createFileExclusive, ensurePrivateDirs, fsyncDir, writeFileAtomic } from '../state/index.ts';

/** NEMOCLAW_HOME, default ~/.nemoclaw (src/state). */
export function defaultHome(): string {
  return nemoclawHome();
}

export function auditDir(home: string): string {
  return homePaths(home).audit;
}

/**
 * Signing keys live beside the log's directory, not inside it: the audit directory can be copied
 * or shipped to a SIEM without its keys, and no sandbox mounts NEMOCLAW_HOME.
 */
export function keysDir(home: string): string {
  return join(homePaths(home).keys, 'audit');
}
