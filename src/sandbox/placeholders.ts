// Creates the empty placeholders that paths.ts's table asks for, so the helper has something to
// protect (see WORKSPACE_PROTECTED_TABLE for why and which). Runs before the sandbox starts, as
// the operator, in a directory an earlier sandbox could write: nothing here follows a symlink,
// and each placeholder gets the owner of the directory it is created in.
import type { Stats } from 'node:fs';
import { closeSync, constants, fchownSync, lchownSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { join, posix } from 'node:path';
import { placeholdersNeeded } from './paths.ts';

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p) ?? null;
  } catch {
    return null;
  }
}

/** Whether every component of rel below the workspace is a real directory (no symlink planted there). */
function parentsAreDirs(workspace: string, rel: string): boolean {
  const parts = posix.dirname(rel).split('/').filter((x) => x !== '' && x !== '.');
  let cur = workspace;
  for (const part of parts) {
    cur = join(cur, part);
    const st = lstatOrNull(cur);
    if (st === null || !st.isDirectory()) return false;
  }
  return true;
}

/** Creates the missing placeholders; returns the absolute paths created. Errors skip an entry (the helper then reports it as skipped). */
export function createPlaceholders(workspace: string): string[] {
  const git = lstatOrNull(join(workspace, '.git'));
  const needed = placeholdersNeeded((rel) => lstatOrNull(join(workspace, rel)) !== null, git !== null && git.isDirectory());
  const created: string[] = [];
  for (const e of needed) {
    if (!parentsAreDirs(workspace, e.path)) continue;
    const abs = join(workspace, e.path);
    const parent = lstatOrNull(posix.dirname(abs));
    if (parent === null) continue;
    try {
      if (e.kind === 'dir') {
        mkdirSync(abs, { mode: 0o755 });
        lchownSync(abs, parent.uid, parent.gid);
      } else {
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
        try {
          fchownSync(fd, parent.uid, parent.gid);
        } finally {
          closeSync(fd);
        }
      }
      created.push(abs);
    } catch {
      // Raced or not permitted: left unprotected, and the helper lists it in ready.skipped.
    }
  }
  return created;
}
