// The approvals component's light door for its clients (`nemoclaw approvals approve|deny`): who
// is deciding. Nothing of the queue, and no node:http, which control.ts loads (issue 23).
import { readlinkSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { DecidedBy } from './queue.ts';

/** Who is deciding: the OS user and the terminal or SSH origin of this process. */
export function currentDecider(env: NodeJS.ProcessEnv = process.env): DecidedBy {
  let user = env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry: keep $USER
  }
  const ssh = env.SSH_CONNECTION?.split(' ')[0];
  const tty = ttyName();
  const origin = ssh ? `ssh:${ssh}${tty ? ` ${tty}` : ''}` : tty ? `tty:${tty}` : 'cli';
  return { user, origin };
}

/** The terminal on standard input (Linux: /proc/self/fd/0), or null. */
function ttyName(): string | null {
  for (const fd of [0, 1, 2]) {
    try {
      const p = `/proc/self/fd/${fd}`;
      if (statSync(p).isCharacterDevice()) {
        const name = readlinkSync(p);
        if (name.startsWith('/dev/pts/') || name.startsWith('/dev/tty')) return name;
      }
    } catch {
      // not a terminal
    }
  }
  return null;
}
