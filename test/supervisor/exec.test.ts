// Exec into a running sandbox: the new process has exactly the main workload's enforcement
// (NoNewPrivs, seccomp filters, capabilities, uid, Landlock), with pipes or a PTY; exit statuses
// come back; a stopped sandbox refuses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, serveFresh } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from './harness.ts';

const FIELDS = ['Uid', 'Gid', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'];

function fields(status: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of status.split(/\r?\n/)) {
    const m = /^([A-Za-z_]+):\s*(.*)$/.exec(line);
    if (m && FIELDS.includes(m[1] as string)) out[m[1] as string] = (m[2] as string).replace(/\s+/g, ' ');
  }
  return out;
}

describe('exec into a running sandbox', { timeout: 120_000 }, () => {
  let sv: Served;
  let ws: string;
  beforeAll(async () => {
    ({ sv, ws } = await serveFresh());
    // The main workload records its own view, then tries the same Landlock-denied write.
    const script = `cat /proc/self/status > ${ws}/main.txt; (echo x > /proc/self/comm) 2> ${ws}/main-denied.txt; exec sleep 1000`;
    const c = await cli(sv.home, ['create', 'box', '--workspace', ws, '--', '/bin/sh', '-c', script]);
    expect(c.code, c.stderr).toBe(0);
    await waitFor(() => readFileSync(join(ws, 'main-denied.txt'), 'utf8').length > 0, 'main workload status', { withinMs: 15_000 });
  });
  afterAll(async () => {
    await sv?.stop();
  });

  it('has the same NoNewPrivs, seccomp, capabilities and uid as the main workload', async () => {
    const main = fields(readFileSync(join(ws, 'main.txt'), 'utf8'));
    expect(main.NoNewPrivs).toBe('1');
    expect(main.Seccomp).toBe('2');
    const r = await cli(sv.home, ['box', 'exec', '--', 'cat', '/proc/self/status']);
    expect(r.code, r.stderr).toBe(0);
    expect(fields(r.stdout)).toEqual(main);
    const t = await cli(sv.home, ['box', 'exec', '--tty', '--', 'cat', '/proc/self/status']);
    expect(t.code).toBe(0);
    expect(fields(t.stdout)).toEqual(main);
  });

  it('is denied by Landlock exactly where the main workload is', async () => {
    const mainDenied = readFileSync(join(ws, 'main-denied.txt'), 'utf8');
    expect(mainDenied).toMatch(/Permission denied/);
    const r = await cli(sv.home, ['box', 'exec', '--', '/bin/sh', '-c', 'echo x > /proc/self/comm']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    // and nothing outside the sandbox's view exists for it
    const outside = await cli(sv.home, ['box', 'exec', '--', 'cat', `${process.env.NEMOCLAW_HOME}/sandboxes/box/spec.json`]);
    expect(outside.code).not.toBe(0);
  });

  it('passes stdin, separates stderr, returns the status; runs on a PTY with --tty', async () => {
    const r = await cli(sv.home, ['box', 'exec', '--', '/bin/sh', '-c', 'read l; echo "got $l"; echo oops >&2; exit 7'], 'hello\n');
    expect(r).toMatchObject({ code: 7, stdout: 'got hello\n', stderr: 'oops\n' });
    const t = await cli(sv.home, ['box', 'exec', '--tty', '--', 'tty']);
    expect(t.stdout).toMatch(/^\/dev\/pts\/\d+/);
    const nf = await cli(sv.home, ['box', 'exec', '--', 'no-such-program']);
    expect(nf.code).toBe(127);
    const k = await cli(sv.home, ['box', 'exec', '--', '/bin/sh', '-c', 'kill -9 $$']);
    expect(k.code).toBe(137);
  });

  it('refuses a sandbox that is not running', async () => {
    await cli(sv.home, ['create', 'idle', '--workspace', ws, '--stopped', '--', 'sleep', '1000']);
    const r = await cli(sv.home, ['idle', 'exec', '--', 'true']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/not running/);
  });
});
