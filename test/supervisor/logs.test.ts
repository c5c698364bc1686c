// A sandbox cannot fill the host's disk through its output (issue 19). A supervised workload
// floods stdout with `yes` for several rate windows while its policy caps the logs at 256 KiB in
// 4 files: the supervisor answers API calls during the flood, the logs directory never exceeds
// the cap, the excess is marked `[nemoclaw: N bytes dropped]` with `sandbox.limit_hit` events,
// and `logs` still shows the latest output (read across rotated files). Real supervisor and helper.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../src/audit/index.ts';
import { cli, events, freshHome, serve, workspace } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from './harness.ts';

const CAP = 256 * 1024;
const FILES = 4;

const POLICY = `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /bin, /lib, /lib64, /etc]
  read_write: [/tmp]
limits:
  log_size: 256KiB
  log_files: ${FILES}
`;

// Floods until the test creates ./stop in the workspace, then says so twice a second: what the
// window that ended the flood dropped, the next one admits.
const FLOOD = 'yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA & p=$!; while [ ! -e stop ]; do sleep 0.1; done; kill $p; while :; do echo flood-done; sleep 0.5; done';

function logsDir(home: string): { bytes: number; files: string[] } {
  const dir = join(home, 'sandboxes', 'flood', 'logs');
  const files = readdirSync(dir);
  return { bytes: files.reduce((n, f) => n + statSync(join(dir, f)).size, 0), files };
}

describe('bounded sandbox logs under a flood', { timeout: 120_000 }, () => {
  let sv: Served;
  let ws = '';
  beforeAll(async () => {
    const home = freshHome();
    ws = workspace(home);
    sv = await serve(home);
  });
  afterAll(async () => {
    await cli(sv.home, ['flood', 'destroy', '--yes']);
    await sv.stop();
  });

  it('keeps the logs under the cap with drop markers, and the supervisor answers during the flood', async () => {
    const policy = join(ws, '..', `${ws.split('/').pop()}-policy.yaml`);
    writeFileSync(policy, POLICY);
    const c = await cli(sv.home, ['create', 'flood', '--workspace', ws, '--policy', policy, '--', 'sh', '-c', FLOOD]);
    expect(c.code, c.stderr + c.stdout).toBe(0);

    // Several windows of flooding: three limit_hit events, each one window's drops.
    const hits = await waitFor(
      async () => {
        const h = (await events(sv.api)).filter((e) => e.type === 'sandbox.limit_hit' && e.sandbox === 'flood');
        return h.length >= 3 ? h : null;
      },
      'three sandbox.limit_hit events',
      { withinMs: 30_000 },
    );
    for (const h of hits) expect(h).toMatchObject({ limit: 'log_rate', dropped: expect.any(Number) });
    expect(hits.every((h) => (h as unknown as { dropped: number }).dropped > 0)).toBe(true);

    // Still flooding (./stop does not exist yet): the API answers, and so does the CLI.
    const health = await sv.api.call('GET', '/v1/health');
    expect(health).toMatchObject({ pid: expect.any(Number) });
    const status = await cli(sv.home, ['flood', 'status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ sandbox: { name: 'flood', state: 'running' } });
    const during = logsDir(sv.home);
    expect(during.bytes).toBeLessThanOrEqual(CAP);

    writeFileSync(join(ws, 'stop'), '');
    const tail = await waitFor(
      async () => {
        const r = await cli(sv.home, ['flood', 'logs', '--tail', '5', '--json']);
        return r.stdout.includes('flood-done') ? r.stdout : null;
      },
      'flood-done as the latest output',
      { withinMs: 30_000 },
    );
    const last = tail.trim().split('\n').map((l) => JSON.parse(l) as { line: string });
    expect(last.at(-1)?.line).toBe('flood-done');

    const after = logsDir(sv.home);
    expect(after.bytes).toBeLessThanOrEqual(CAP);
    expect(after.files.length).toBeLessThanOrEqual(FILES);
    // The markers are in what `logs` shows (read across the rotated files), in the flood's own order.
    const all = await cli(sv.home, ['flood', 'logs', '--json']);
    const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: string });
    const markers = lines.filter((l) => /^\[nemoclaw: \d+ bytes dropped\]$/.test(l.line));
    expect(markers.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.line.startsWith('AAAA'))).toBe(true);
    // The flood is in the audit log once for this run, not once a second.
    const audited = [...readRecords(sv.home)].filter((r) => r.line.includes('"activity":"limit_hit"') && r.line.includes('"target":"log_rate"'));
    expect(audited).toHaveLength(1);
    expect(audited[0]?.line).toContain('"sandbox":"flood"');
  });
});
