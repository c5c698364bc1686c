// Integration (issue 19): a sandbox's private /tmp is as large as `limits.tmp_size` says
// (default 512 MiB), never a share of host RAM. A workload writing past it gets ENOSPC inside,
// the host's /tmp is untouched, and the helper's ready report states the size as mounted.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './build-helper.ts';

const bin = join(root, 'bin', 'nemoclaw');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-tmpsize-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MiB = 1024 * 1024;

function run(policy: string | null, script: string): { status: number | null; stdout: string; stderr: string; ready: Record<string, unknown>; events: Record<string, unknown>[] } {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  const events = join(scratch, `events-${Math.random().toString(36).slice(2)}.ndjson`);
  const extra: string[] = [];
  if (policy !== null) {
    const file = join(scratch, `policy-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, policy);
    extra.push('--policy', file);
  }
  const r = spawnSync(bin, ['sandbox', 'run', '--workspace', ws, '--events', events, ...extra, '--', 'sh', '-c', script], {
    encoding: 'utf8',
    cwd: ws,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, NEMOCLAW_HOME: join(scratch, 'state') },
  });
  const all = readFileSync(events, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ready: all[0] as Record<string, unknown>, events: all };
}

const tmpSize = (ready: Record<string, unknown>): number => ((ready.enforcement as Record<string, Record<string, number>>).limits as Record<string, number>).tmp_size as number;

const SMALL = `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /bin, /lib, /lib64, /etc]
  read_write: [/tmp]
limits:
  tmp_size: 4MiB
`;

describe('private /tmp size (real helper)', () => {
  it('writes past limits.tmp_size fail with ENOSPC inside; the host /tmp holds nothing of them', () => {
    const marker = `nc-fill-${process.pid}-${Date.now()}`;
    // dd stops at the first failed write and says why; df shows the size the workload sees.
    const r = run(SMALL, `dd if=/dev/zero of=/tmp/${marker} bs=1M count=16 2>&1; echo "dd=$?"; ls -l /tmp/${marker} | awk '{print "size=" $5}'; df -k /tmp | tail -1 | awk '{print "df=" $2}'`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/No space left on device/);
    expect(r.stdout).toMatch(/dd=1/);
    expect(Number(/size=(\d+)/.exec(r.stdout)?.[1])).toBeLessThanOrEqual(4 * MiB);
    expect(Number(/df=(\d+)/.exec(r.stdout)?.[1])).toBe(4096);
    expect(tmpSize(r.ready)).toBe(4 * MiB);
    // Inside only: the host's /tmp never saw the file, and a host write there still works.
    expect(existsSync(join('/tmp', marker))).toBe(false);
    const host = join(scratch, 'host-after.bin');
    writeFileSync(host, Buffer.alloc(8 * MiB));
    expect(readFileSync(host).length).toBe(8 * MiB);
  });

  it('where a memory limit applies, /tmp pages count against it: the writer is OOM-killed before tmp_size', () => {
    // As root the helper always gets a memory cgroup (docs/sandbox.md); tmpfs pages are charged to it.
    const policy = SMALL.replace('tmp_size: 4MiB', 'memory: 64MiB\n  tmp_size: 256MiB');
    const r = run(policy, 'dd if=/dev/zero of=/tmp/f bs=1M count=128 2>/dev/null; ls -l /tmp/f | awk \'{print "size=" $5}\'');
    expect(r.status, r.stderr).toBe(0);
    expect(Number(/size=(\d+)/.exec(r.stdout)?.[1])).toBeLessThan(64 * MiB);
    expect(r.events.some((e) => e.type === 'limit_hit' && e.limit === 'memory')).toBe(true);
  });

  it('/var/tmp and /dev/shm are bounded by the same size', () => {
    const r = run(SMALL, 'for d in /var/tmp /dev/shm /home/sandbox; do df -k $d | tail -1 | awk -v d=$d \'{print d "=" $2}\'; done');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('/var/tmp=4096');
    expect(r.stdout).toContain('/dev/shm=4096');
    expect(r.stdout).toContain('/home/sandbox=4096');
  });

  it('the default policy gives 512 MiB, reported in ready', () => {
    const r = run(null, "df -k /tmp | tail -1 | awk '{print \"df=\" $2}'");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`df=${512 * 1024}`);
    expect(tmpSize(r.ready)).toBe(512 * MiB);
  });

  it('policy explain states the size, and the default when the policy says nothing', () => {
    const file = join(scratch, 'explain.yaml');
    writeFileSync(file, SMALL);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, NEMOCLAW_HOME: join(scratch, 'state') };
    const small = spawnSync(bin, ['policy', 'explain', file], { encoding: 'utf8', cwd: scratch, timeout: 60_000, env });
    expect(small.status, small.stderr).toBe(0);
    expect(small.stdout).toMatch(/Private \/tmp.*4 ?MiB each/);
    writeFileSync(file, SMALL.replace(/limits:[\s\S]*/, ''));
    const dflt = spawnSync(bin, ['policy', 'explain', file], { encoding: 'utf8', cwd: scratch, timeout: 60_000, env });
    expect(dflt.stdout).toMatch(/Private \/tmp.*512 ?MiB each/);
  });

  it('a tmp_size below 1 MiB is refused by the policy loader', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const file = join(scratch, 'tiny.yaml');
    writeFileSync(file, SMALL.replace('4MiB', '4KiB'));
    const r = spawnSync(bin, ['policy', 'validate', file], { encoding: 'utf8', cwd: ws, timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, NEMOCLAW_HOME: join(scratch, 'state') } });
    expect(r.status).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain('at least 1MiB');
  });
});
