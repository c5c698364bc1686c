// Integration (issue 13, part 1): a workspace on a filesystem that cannot take an idmapped mount
// (overlayfs: a container's root, many CI runners). As root the helper idmaps the workspace to
// the workload's host id; on overlayfs that fails (EINVAL), so a workspace owned by an ordinary
// user makes the workload run as that user (what it creates belongs to the owner, no idmap), and
// a root-owned one is refused with the filesystem's name and the fixes; the workload never maps to
// host root. The overlay is mounted in a private mount namespace (unshare -m) that nemoclaw then
// runs in. Root only: rootless runs use no idmap at all.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IS_ROOT, skipUnless } from '../helpers/skip.ts';
import { inOwnMountNamespace, tempDirs } from './build-helper.ts';

const [scratch, state] = tempDirs('nemoclaw-test-overlay-', 'nemoclaw-test-overlay-home-') as [string, string];

/** Mounts an overlay at DIR/m in a new mount namespace, prepares it with `prep`, runs `script` there. */
function inOverlay(prep: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(scratch, 'ov-'));
  for (const d of ['l', 'u', 'w', 'm']) mkdirSync(join(dir, d));
  const mount = `mount -t overlay overlay -o lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w ${dir}/m && [ "$(stat -f -c %T ${dir}/m)" = overlayfs ] || exit 90`;
  return inOwnMountNamespace(`${mount}; cd ${dir}/m; ${prep}; ${script}`, state);
}

describe('a workspace on overlayfs (real helper, root)', () => {
  it("owned by an ordinary user: runs, as that user, and what it creates belongs to the owner", (ctx) => {
    skipUnless(ctx, IS_ROOT, 'idmapped workspaces are a root-mode feature (rootless runs need none)');
    const r = inOverlay('mkdir ws && chown 1000:1000 ws', '(cd ws && "$NEMOCLAW" sandbox run -- sh -c "id -un; touch made"); echo "rc=$?"; stat -c "%u:%g" ws/made; ls -A ws');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('sandbox\nrc=0\n1000:1000\nmade\n');
  });

  it('owned by root: refused (125) with one line naming overlayfs and the fixes; nothing runs', (ctx) => {
    skipUnless(ctx, IS_ROOT, 'idmapped workspaces are a root-mode feature (rootless runs need none)');
    const r = inOverlay('mkdir ws', '(cd ws && "$NEMOCLAW" sandbox run -- touch made); echo "rc=$?"; ls -A ws');
    expect(r.stdout).toBe('rc=125\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('on overlayfs cannot be idmapped and belongs to root');
    expect(lines[0]).toContain('give it a non-root owner');
    expect(lines[0]).toContain('ext4, xfs, btrfs, tmpfs on Linux >= 6.3');
  });

  it('doctor names the filesystem of the current directory', (ctx) => {
    skipUnless(ctx, IS_ROOT, 'mounting an overlay needs root');
    const r = inOverlay('mkdir ws && chown 1000:1000 ws', 'cd ws && "$NEMOCLAW" doctor | grep "workspace filesystem"');
    expect(r.stdout).toContain('on overlayfs (no idmapped mounts): the workload runs as its owner, uid 1000');
  });
});
