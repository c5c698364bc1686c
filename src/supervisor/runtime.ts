// What the supervisor holds for each sandbox while it exists (Runtime), how its state.json is
// written (now, or soon without holding an answer), and the binary pins kept with it: read from
// pins.json at each start, written through on every new first-use pin. Split from lifecycle.ts
// (issue 23) so that file stays one concern: the lifecycle's transitions.
import type { FSWatcher } from 'node:fs';
import type { EgressProxy } from '../egress/index.ts';
import type { PolicyStore, Revision } from '../policy/index.ts';
import type { RunningSandbox } from '../sandbox/index.ts';
import type { SandboxRecord, SandboxStateFile, StateStore } from './state.ts';
import { PinsUnreadableError } from './state.ts';
import type { AuditFn } from './types.ts';
import { commitStaged, discardStaged } from '../state/index.ts';
import type { StagedFile } from '../state/index.ts';

export interface Runtime {
  rec: SandboxRecord;
  st: SandboxStateFile;
  store: PolicyStore;
  running: RunningSandbox | null;
  proxy: EgressProxy | null;
  watcher: FSWatcher | null;
  rev: number | null;
  enforcement: Record<string, unknown> | null;
  /** Binaries pinned on first use (exe -> sha256), as in pins.json; null until first read. */
  pins: Map<string, string> | null;
  requested: boolean;
  attempt: number;
  timer: NodeJS.Timeout | null;
  ended: Promise<void> | null;
  /** Serialises start/stop/destroy of one sandbox. */
  chain: Promise<unknown>;
  /** state.json's content as last written or read (stateContent): an unchanged state is not written again. */
  persisted: string | null;
  /** Counts state changes: a state.json write staged off the event loop is renamed only if none came after it. */
  writeSeq: number;
  /** The revision create() just wrote, for the first start only (null otherwise: read from the store). */
  first?: Revision | null;
  /** Why the last start failed (one line, with the fixing command where there is one); cleared by a start that runs. */
  startError?: string | null;
}


/** The sandbox's pins: read from pins.json when not held yet; an unreadable file fails the start. */
export function loadPins(state: StateStore, r: Runtime): Map<string, string> {
  if (r.pins) return r.pins;
  try {
    r.pins = state.readPins(r.rec.name);
  } catch (err) {
    if (!(err instanceof PinsUnreadableError)) throw err;
    throw new Error(`binary pins unreadable, refusing to re-pin from scratch: ${err.message} (to trust every binary as it is now: nemoclaw ${r.rec.name} unpin)`, { cause: err });
  }
  return r.pins;
}

/**
 * A new first-use pin from the proxy: written through to pins.json at once. Synchronous (temp
 * file, fsync, rename of the whole map), so pins arriving together are written one after the
 * other and each write holds every pin before it.
 */
export function savePin(state: StateStore, audit: AuditFn, r: Runtime, exe: string, sha256: string): void {
  const pins = (r.pins ??= new Map());
  pins.set(exe, sha256);
  try {
    state.writePins(r.rec.name, pins);
  } catch (err) {
    // Still enforced in memory; after a restart this binary would be pinned again as found.
    audit({ kind: 'sandbox.lifecycle', activity: 'pin_not_saved', sandbox: r.rec.name, binary: exe, severity: 'high', detail: { why: (err as Error).message.slice(0, 200) } }, true);
  }
}

export function emptyState(desired: 'running' | 'stopped'): SandboxStateFile {
  return { desired, state: 'stopped', pid: null, restarts: 0, startedAt: null, lastExit: null, updatedAt: new Date().toISOString() };
}

/** What state.json says, less when it was written: equal contents need no second write. */
export function stateContent(st: SandboxStateFile): string {
  const { updatedAt: _at, ...rest } = st;
  return JSON.stringify(rest);
}

/**
 * Writes state.json when what it says changed (an equal state is not written twice); nothing once
 * `current()` says the runtime is no longer the sandbox's (destroyed).
 */
export function persistState(store: StateStore, r: Runtime, current: () => boolean): void {
  if (!current()) return;
  const content = stateContent(r.st);
  if (content === r.persisted) return;
  try {
    store.writeState(r.rec.name, r.st);
    r.persisted = content;
  } catch {
    // destroyed under us
  }
}

/** persistState() off the event loop: staged (fsynced temp), renamed only if still the newest state. */
export async function persistStateSoon(store: StateStore, r: Runtime, current: () => boolean): Promise<void> {
  const seq = r.writeSeq;
  const content = stateContent(r.st);
  if (content === r.persisted || !current()) return;
  let staged: StagedFile;
  try {
    staged = await store.stageState(r.rec.name, r.st);
  } catch {
    return; // destroyed under us; the next change writes the state as it is then
  }
  // Checked and renamed in one synchronous step: no other write can come between.
  if (r.writeSeq !== seq || !current()) {
    discardStaged([staged]);
    return;
  }
  const done = commitStaged([staged]); // renamed now (its synchronous part); the directory's fsync follows
  r.persisted = content;
  await done.catch(() => {
    r.persisted = null; // not known what state.json says: the next change writes it whatever it is
  });
}
