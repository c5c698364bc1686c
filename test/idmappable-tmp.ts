// Where test workspaces live when the suite runs as root on a filesystem that cannot take an
// idmapped mount (issue 13, part 1): a privileged container's root is overlayfs, and so is its
// /tmp. As root the helper idmaps a workspace to the workload's host id, and refuses a root-owned
// workspace it cannot idmap (native/src/wstree.c), so every test that makes its workspace with
// mkdtemp(tmpdir()) would fail there. The global setup then mounts a tmpfs (idmappable since Linux
// 6.3) and points TMPDIR at it for the test processes; on other hosts it changes nothing, so the
// suite keeps covering the idmapped path wherever the host supports it. The user-owned fallback
// itself is covered by test/sandbox/overlay-workspace.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_IDMAP_FS } from '../src/sandbox/doctor.ts';

/** Mounts the tmpfs when needed; returns its teardown (or null when nothing was done). */
export function idmappableTmp(): (() => void) | null {
  if (process.getuid?.() !== 0) return null; // rootless runs use no idmapped mount
  const base = tmpdir();
  const fs = NO_IDMAP_FS.get(statfsSync(base).type);
  if (fs === undefined) return null;
  const dir = mkdtempSync(join(base, 'nemoclaw-tests-tmpfs-'));
  // Neither nosuid nor nodev: it stands in for /tmp, and the escape suite's unsandboxed controls
  // need a filesystem that honours a setuid binary, file capabilities and a device node, as /tmp does.
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=4g', 'nemoclaw-tests', dir], { encoding: 'utf8' });
  if (m.status !== 0) {
    rmdirSync(dir);
    throw new Error(`${base} is on ${fs}, which cannot take idmapped mounts, and a tmpfs for the test workspaces could not be mounted at ${dir}: ${m.stderr.trim()}`);
  }
  process.stderr.write(`test setup: ${base} is on ${fs} (no idmapped mounts); test workspaces go to a tmpfs at ${dir}\n`);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    spawnSync('umount', ['-l', dir]);
    try {
      rmdirSync(dir);
    } catch {
      // still busy: a later run's tmpdir sweep may take it
    }
  };
}
