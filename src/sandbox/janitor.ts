// The janitor of one run's workspace lease (lease.ts): started detached beside each run that
// holds placeholders, behind a shell that waits on a pipe from nemoclaw. nemoclaw writes "done"
// after releasing the lease itself, and the shell exits without starting this script; only when
// nemoclaw dies without saying so (SIGKILL, a crash) does this run: it waits until every process
// the run lives in is gone (the sandbox's init last: reaped only after the whole sandbox exited),
// then releases the run's holder, removing the placeholders when it was the last.
//   node janitor.ts LEASE_DIR WORKSPACE HOLDER_FILE
import { holderLive, releaseHolder } from './lease.ts';

const [dir, workspace, holderFile] = process.argv.slice(2);
/** After nemoclaw's death its helper and the sandbox follow at once; this bound is for a host
 * whose pid 1 reaps slowly. Past it the placeholders stay (the safe side) until a later run. */
const WAIT_MS = 60_000;
const POLL_MS = 20;

if (dir !== undefined && workspace !== undefined && holderFile !== undefined) {
  const deadline = Date.now() + WAIT_MS;
  const tick = (): void => {
    if (holderLive(holderFile)) {
      if (Date.now() < deadline) setTimeout(tick, POLL_MS);
      return;
    }
    try {
      releaseHolder(dir, workspace, holderFile);
    } catch {
      // lease busy past its bound or the state directory gone: a later run's release tidies up
    }
  };
  tick();
}
