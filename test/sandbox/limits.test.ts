// Integration: the default policy bounds processes (pids 1024, enforced by RLIMIT_NPROC in the
// workload's own user namespace, plus the cgroup pids controller where there is one), also for
// an unprivileged caller without cgroup delegation, and the bound is per sandbox.
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NPROC_MARGIN } from '../../src/sandbox/argv.ts';
import { asOrdinaryUser, root } from './build-helper.ts';

const bin = join(root, 'bin', 'nemoclaw');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-limits-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Forks up to N children that wait on a pipe; prints how many it got (a failed fork ends the loop).
const FORKER = [
  'import os, sys',
  'r, w = os.pipe()',
  'n = 0',
  'for _ in range(int(sys.argv[1])):',
  '    try:',
  '        pid = os.fork()',
  '    except OSError:',
  '        break',
  '    if pid == 0:',
  '        os.close(w); os.read(r, 1); os._exit(0)',
  '    n += 1',
  'print("started", n, flush=True)',
  'os.close(w)',
  'for _ in range(n): os.wait()',
].join('\n');
const spawnMany = (n: number): string[] => ['python3', '-c', FORKER, String(n)];

function run(cmd: string[], uid?: number): SpawnSyncReturns<string> {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  const home = mkdtempSync(join(scratch, 'home-'));
  if (uid !== undefined) {
    chownSync(ws, uid, uid);
    chownSync(home, uid, uid);
  }
  const argv = [bin, 'sandbox', 'run', '--workspace', ws, '--events', join(home, 'events.ndjson'), '--', ...cmd];
  const [file, args] = uid === undefined ? [argv[0] as string, argv.slice(1)] : asOrdinaryUser(argv, uid);
  const r = spawnSync(file, args, { encoding: 'utf8', cwd: ws, timeout: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: join(home, '.nemoclaw') } });
  return { ...r, stdout: `${r.stdout}`, stderr: `${r.stderr}${readFileSync(join(home, 'events.ndjson'), 'utf8').split('\n')[0] ?? ''}` };
}

describe('default policy process limit (real helper)', () => {
  it('a workload cannot hold more than 1024 processes', () => {
    const r = run(spawnMany(1500));
    expect(r.status, r.stderr).toBe(0);
    const started = Number(/started (\d+)/.exec(r.stdout)?.[1]);
    expect(started).toBeGreaterThan(900);
    expect(started).toBeLessThanOrEqual(1024 + NPROC_MARGIN);
  });

  it('an unprivileged caller (no cgroup delegation) gets the same bound, without a DEGRADED warning', () => {
    const r = run(spawnMany(1500), 65534);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('DEGRADED: cgroup');
    expect(Number(/started (\d+)/.exec(r.stdout)?.[1])).toBeLessThanOrEqual(1024 + NPROC_MARGIN);
  });

  it('the bound is per sandbox: processes of the same host uid elsewhere do not count', async () => {
    // Another sandbox (same host uid) holds 600 processes until its stdin closes; this one still
    // gets 900, so the two together exceed the bound of each.
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const holder = spawn(bin, ['sandbox', 'run', '--workspace', ws, '--', 'python3', '-c', FORKER.replace('os.read(r, 1)', 'sys.stdin.read()'), '600'], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, NEMOCLAW_HOME: join(scratch, '.nemoclaw-holder') },
    });
    holder.stdout.setEncoding('utf8');
    const line = await new Promise<string>((done) => {
      let out = '';
      holder.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) done(out);
      });
      holder.on('close', () => done(out));
    });
    try {
      expect(line).toContain('started 600');
      const r = run(spawnMany(900));
      expect(r.stdout).toContain('started 900');
    } finally {
      holder.stdin.end();
      await new Promise((done) => holder.on('close', done));
    }
  });
});
