// Integration (issue 13, part 1: where users are): a container runtime masks parts of /proc
// (/proc/keys, /proc/timer_list, ... with /dev/null or a tmpfs) unless the container is privileged,
// and the kernel then refuses a fresh proc in a new user namespace. The sandbox cannot start there:
// it must say why and how to run the container, and doctor must fail its proc row. The mask is made
// the way Docker makes it (a bind of /dev/null over /proc/timer_list) in a private mount namespace
// (unshare -m) that nemoclaw then runs in; the same commands outside it are the control.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IS_ROOT, skipUnless } from '../helpers/skip.ts';
import { inOwnMountNamespace, tempDirs } from './build-helper.ts';

const [scratch, state] = tempDirs('nemoclaw-test-maskedproc-', 'nemoclaw-test-maskedproc-home-') as [string, string];

function run(masked: boolean, script: string): { status: number | null; stdout: string; stderr: string } {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  const mask = masked ? 'mount --bind /dev/null /proc/timer_list || exit 90; ' : '';
  return inOwnMountNamespace(`${mask}cd ${ws}; ${script}`, state);
}

describe('a /proc masked as a container runtime masks it (real helper, root)', () => {
  it('sandbox run refuses (125) with one line naming the masks and how to run the container', (ctx) => {
    skipUnless(ctx, IS_ROOT, 'masking /proc needs a mount namespace of our own (root)');
    const control = run(false, '"$NEMOCLAW" sandbox run -- true; echo "rc=$?"');
    expect(control.stdout, control.stderr).toBe('rc=0\n');
    const r = run(true, '"$NEMOCLAW" sandbox run -- true; echo "rc=$?"');
    expect(r.stdout).toBe('rc=125\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('mount proc: /proc has paths masked over it');
    expect(lines[0]).toContain('--privileged or --security-opt systempaths=unconfined');
  });

  it('doctor fails its proc row there and passes it outside', (ctx) => {
    skipUnless(ctx, IS_ROOT, 'masking /proc needs a mount namespace of our own (root)');
    const outside = run(false, '"$NEMOCLAW" doctor | grep -E "^[a-z]+ +proc "');
    expect(outside.stdout).toMatch(/^ok +proc +no paths masked over \/proc/);
    const inside = run(true, '"$NEMOCLAW" doctor; echo "rc=$?"');
    expect(inside.stdout).toMatch(/FAIL +proc +\/proc\/timer_list masked over \/proc \(a container's default\)/i);
    expect(inside.stdout).toContain('--security-opt systempaths=unconfined');
    expect(inside.stdout).toMatch(/rc=1\n$/);
  });
});
