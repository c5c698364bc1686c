// Integration: a sandbox's processes live in its cgroup leaf, in every controller the ready report
// names. The helper's init joins a cgroup v1 leaf itself (native/src/limits.c, cgroup_join_self:
// moving another pid there waits for an RCU grace period, 11-16 ms a start on a 2-CPU VM), so
// this is what shows the join happened, seen from the host as an operator would check it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { bin } from './build-helper.ts';

const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-cgroup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Ready {
  type: 'ready';
  pid: number;
  enforcement: { cgroup: { version: 1 | 2; path: string; controllers: string[] } | null };
}

/** `/proc/PID/cgroup` as controller -> path ('' for the v2 line). */
function cgroupsOf(pid: number | 'self'): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllers = '', path = ''] = line.split(':');
    for (const c of controllers.split(',')) out.set(c, path);
  }
  return out;
}

describe('cgroup leaf (real helper)', () => {
  it("puts the workload in the sandbox's leaf in every controller ready names; the caller stays outside", async () => {
    // As root the helper always gets a leaf (docs/sandbox.md); the host decides v1 or v2.
    expect(process.getuid?.()).toBe(0);
    const workspace = mkdtempSync(join(scratch, 'ws-'));
    const events = join(scratch, 'events.ndjson');
    const run = spawn(bin, ['sandbox', 'run', '--workspace', workspace, '--events', events, '--', 'sleep', '30'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NEMOCLAW_HOME: join(scratch, 'home') } });
    let stderr = '';
    run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const ready = await waitFor(
        () => {
          const line = existsSync(events) ? readFileSync(events, 'utf8').split('\n')[0] : '';
          return line ? (JSON.parse(line) as Ready) : undefined;
        },
        () => `the ready event (stderr: ${stderr})`,
        { withinMs: 20_000 },
      );
      const cg = ready.enforcement.cgroup;
      expect(cg).not.toBeNull();
      const leaf = basename(cg?.path ?? '');
      expect(leaf).toMatch(/^nemoclaw-\d+$/);
      const inside = cgroupsOf(ready.pid);
      const outside = cgroupsOf('self');
      const wanted = cg?.version === 2 ? [''] : (cg?.controllers ?? []);
      expect(wanted.length).toBeGreaterThan(0);
      for (const c of wanted) {
        expect({ c, path: inside.get(c) }).toEqual({ c, path: expect.stringMatching(new RegExp(`/${leaf}$`)) });
        // The same reading of this test's own process: the check tells inside from outside.
        expect({ c, path: outside.get(c) }).toEqual({ c, path: expect.not.stringContaining(leaf) });
      }
    } finally {
      run.kill('SIGTERM');
    }
  });
});
