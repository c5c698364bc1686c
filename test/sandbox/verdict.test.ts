// Integration: the workload's execve waits for nemoclaw's verdict (--await-verdict). A report
// that fails verification (here: a memory limit under hard_requirement for an unprivileged
// caller, who gets no cgroup on this kind of host) means 125 and no workload code ever ran. On a
// host that delegates a memory cgroup the same run verifies and the command runs: the test
// asserts whichever of the two the host is, never nothing.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asOrdinaryUser, root } from './build-helper.ts';

const bin = join(root, 'bin', 'nemoclaw');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-verdict-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runAsNobody(policy: string): { status: number | null; stderr: string; ws: string; events: string } {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  const home = mkdtempSync(join(scratch, 'home-'));
  chownSync(ws, 65534, 65534);
  chownSync(home, 65534, 65534);
  const events = join(home, 'events.ndjson');
  const r = spawnSync(...asOrdinaryUser([bin, 'sandbox', 'run', '--policy', policy, '--workspace', ws, '--events', events, '--', 'sh', '-c', 'touch ran'], 65534), {
    encoding: 'utf8',
    cwd: ws,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: join(home, '.nemoclaw') },
  });
  return { status: r.status, stderr: r.stderr, ws, events: existsSync(events) ? readFileSync(events, 'utf8') : '' };
}

describe('verdict before exec (real helper)', () => {
  const policy = join(scratch, 'memory.yaml');
  writeFileSync(policy, 'version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }\nlimits: { memory: 256MiB }\n');

  it('a report that fails verification: 125, and the command never ran', () => {
    expect.hasAssertions();
    const r = runAsNobody(policy);
    const first = r.events.split('\n')[0] ?? '';
    if (/"controllers":\[[^\]]*"memory"/.test(first)) {
      // This host delegates a memory cgroup to an unprivileged caller: the limit is enforced, the
      // report verifies, and the command runs (the refusal below is for hosts without delegation).
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(r.ws, 'ran'))).toBe(true);
      return;
    }
    expect(r.status, r.stderr).toBe(125);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('sandbox refused: enforcement mismatch')]);
    expect(existsSync(join(r.ws, 'ran'))).toBe(false);
  });

  it('a verified report: go, the command runs', () => {
    expect.hasAssertions();
    const ok = join(scratch, 'plain.yaml');
    writeFileSync(ok, 'version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }\n');
    const r = runAsNobody(ok);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(r.ws, 'ran'))).toBe(true);
  });
});
