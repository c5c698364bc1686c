// Integration: `nemoclaw sandbox run` refuses (exit 125, one stderr line) writable paths that a
// workload must never get: a symlinked workspace (planted by an earlier run), shared system
// locations, the operator's HOME, and anything holding or held by NEMOCLAW_HOME.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './build-helper.ts';

const bin = join(root, 'bin', 'nemoclaw');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-refusals-'));
const home = join(scratch, 'home');
mkdirSync(home);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(workspace: string, env: Record<string, string> = {}, extra: string[] = []): SpawnSyncReturns<string> {
  return spawnSync(bin, ['sandbox', 'run', '--workspace', workspace, ...extra, '--', 'true'], {
    encoding: 'utf8',
    cwd: scratch,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: join(scratch, 'state'), ...env },
  });
}

function expectRefused(r: SpawnSyncReturns<string>, ...mentions: string[]): void {
  expect(r.status).toBe(125);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  for (const m of mentions) expect(lines[0]).toContain(m);
}

describe('sandbox run refuses unsafe writable paths (real helper)', () => {
  it('a workspace that is a symlink (the helper refuses it unresolved)', () => {
    const real = mkdtempSync(join(scratch, 'real-'));
    const link = join(scratch, 'link');
    symlinkSync(real, link);
    expectRefused(run(link), 'RESOLVE_NO_SYMLINKS');
  });

  it('a workspace below a symlinked directory', () => {
    const real = mkdtempSync(join(scratch, 'realparent-'));
    mkdirSync(join(real, 'ws'));
    const link = join(scratch, 'linkparent');
    symlinkSync(real, link);
    expectRefused(run(join(link, 'ws')), 'RESOLVE_NO_SYMLINKS');
  });

  it.each(['/', '/tmp', '/var/tmp', '/dev/shm', '/etc', '/usr', '/home', '/run'])('the shared system location %s', (dir) => {
    expectRefused(run(dir), dir, 'shared system location');
  });

  it('a world-writable sticky directory (another /tmp)', () => {
    const dir = mkdtempSync(join(scratch, 'sticky-'));
    chmodSync(dir, 0o1777);
    expectRefused(run(dir), dir, 'world-writable');
  });

  it("the operator's HOME itself", () => {
    expectRefused(run(home), home, 'home directory');
  });

  it('a workspace holding NEMOCLAW_HOME, naming both', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const state = join(ws, '.nemoclaw');
    expectRefused(run(ws, { NEMOCLAW_HOME: state }), ws, state);
  });

  it('a workspace inside NEMOCLAW_HOME, naming both', () => {
    const state = mkdtempSync(join(scratch, 'state-'));
    mkdirSync(join(state, 'project'));
    expectRefused(run(join(state, 'project'), { NEMOCLAW_HOME: state }), join(state, 'project'), state);
  });

  it('a read_write policy path holding NEMOCLAW_HOME', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const other = mkdtempSync(join(scratch, 'other-'));
    const policy = join(scratch, `p-${Date.now()}.yaml`);
    writeFileSync(policy, `version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [${JSON.stringify(other)}] }\n`);
    expectRefused(run(ws, { NEMOCLAW_HOME: join(other, 'state') }, ['--policy', policy]), other, 'read-write path');
  });

  it('an ordinary project directory still runs', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const r = run(ws);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('sandbox run refuses read-only paths that would show nemoclaw state or the operator home', () => {
  const roPolicy = (ro: string): string => {
    const policy = join(scratch, `ro-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(policy, `version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64, ${JSON.stringify(ro)}] }\n`);
    return policy;
  };

  it('a read_only path holding NEMOCLAW_HOME (CA keys, proxy sockets)', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const shared = mkdtempSync(join(scratch, 'shared-'));
    const state = join(shared, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'ca-key.pem'), 'not a real key');
    expectRefused(run(ws, { NEMOCLAW_HOME: state }, ['--policy', roPolicy(shared)]), shared, state, 'read-only');
  });

  it('a read_only path inside NEMOCLAW_HOME', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const state = mkdtempSync(join(scratch, 'state-'));
    mkdirSync(join(state, 'sockets'));
    expectRefused(run(ws, { NEMOCLAW_HOME: state }, ['--policy', roPolicy(join(state, 'sockets'))]), join(state, 'sockets'), 'inside');
  });

  it("a read_only path holding the operator's HOME (~/.ssh)", () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const state = mkdtempSync(join(tmpdir(), 'nemoclaw-test-state-')); // outside scratch: only HOME is at stake
    try {
      expectRefused(run(ws, { NEMOCLAW_HOME: state }, ['--policy', roPolicy(scratch)]), scratch, home, 'home directory');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('a read_only path inside HOME is fine (a library checkout), and is readable inside', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const lib = mkdtempSync(join(home, 'lib-'));
    writeFileSync(join(lib, 'x.txt'), 'visible');
    for (const d of [scratch, home, lib]) chmodSync(d, 0o755); // the workload runs as the sandbox user
    const r = spawnSync(bin, ['sandbox', 'run', '--workspace', ws, '--policy', roPolicy(lib), '--', '/bin/cat', join(lib, 'x.txt')], {
      encoding: 'utf8',
      cwd: scratch,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: join(scratch, 'state') },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('visible');
  });
});
