// Binary pins survive restarts (issue 3): a sandbox pins the binary that makes its first
// connection; the sandbox is stopped and the binary replaced on the host; after `start`, and again
// after a supervisor restart, the replaced binary is denied as `binary_replaced` (403 body, bus
// event, audit) with a hint naming `nemoclaw NAME unpin PATH`; `unpin` (sandbox running or not)
// lets the next use pin it again; destroy removes the pins. Real supervisor, helper and proxy.
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../src/audit/index.ts';
import { cli, events, freshHome, serve, workspace } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from './harness.ts';

let origin: Server;
let port = 0;
let bin = '';

beforeAll(async () => {
  origin = createServer((req, res) => res.end(`hello from ${req.url}`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  port = (origin.address() as AddressInfo).port;
  bin = mkdtempSync(join(tmpdir(), 'nc-pins-'));
  chmodSync(bin, 0o755);
});
afterAll(async () => {
  await new Promise((r) => origin.close(r));
  if (bin) rmSync(bin, { recursive: true, force: true });
});

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Puts a working curl at `path`; `tail` (ignored by the ELF loader) makes its bytes differ. */
function installTool(path: string, tail: string): void {
  const tmp = `${path}.new`;
  copyFileSync('/usr/bin/curl', tmp);
  appendFileSync(tmp, tail);
  chmodSync(tmp, 0o755);
  rmSync(path, { force: true });
  copyFileSync(tmp, path);
  chmodSync(path, 0o755);
  rmSync(tmp);
}

function policyFile(dir: string): string {
  const file = join(dir, 'pins-policy.yaml');
  writeFileSync(
    file,
    `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /bin, /lib, /lib64, /etc, ${bin}]
  read_write: [/tmp]
approvals: { unmatched_egress: deny }
network_policies:
  local:
    endpoints:
      - { host: host.nemoclaw.internal, port: ${port} }
    binaries: [{ path: "${bin}/tool*" }]
`,
  );
  return file;
}

describe('binary pins are persisted per sandbox', { timeout: 180_000 }, () => {
  let sv: Served;
  let home = '';
  let tool = '';
  beforeAll(async () => {
    home = freshHome();
    tool = join(bin, 'tool');
    installTool(tool, 'version one\n');
    sv = await serve(home);
    const c = await cli(home, ['create', 'pinned', '--workspace', workspace(home), '--restart', 'always', '--policy', policyFile(home), '--', 'sleep', '1000']);
    expect(c.code, c.stderr).toBe(0);
  });
  afterAll(async () => {
    await sv?.stop();
  });

  const fetch = async (path: string): Promise<string> => (await cli(home, ['pinned', 'exec', '--', tool, '-s', '-w', ' %{http_code}', `http://host.nemoclaw.internal:${port}${path}`])).stdout;
  const pinsOnDisk = (): Record<string, string> => (JSON.parse(readFileSync(join(home, 'sandboxes', 'pinned', 'pins.json'), 'utf8')) as { pins: Record<string, string> }).pins;

  it('a binary replaced while the sandbox was stopped is denied after start and after a supervisor restart, then unpin lets its next use pin it again', async () => {
    expect(await fetch('/first')).toBe('hello from /first 200');
    const first = sha(tool);
    expect(pinsOnDisk()).toEqual({ [tool]: first });
    const listed = await cli(home, ['pinned', 'pins', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({ pins: { [tool]: first } });

    expect((await cli(home, ['pinned', 'stop'])).code).toBe(0);
    installTool(tool, 'version two, put there while the sandbox was down\n');
    expect(sha(tool)).not.toBe(first);
    expect((await cli(home, ['pinned', 'start'])).code).toBe(0);

    const denied = await fetch('/after-start');
    expect(denied).toMatch(/ 403$/);
    const body = JSON.parse(denied.slice(0, denied.lastIndexOf(' '))) as { error: string; binary: string | null; hint: string; reason: string };
    expect(body).toMatchObject({ error: 'binary_replaced', hint: `nemoclaw pinned unpin ${tool}` });
    expect(body.reason).toContain(`nemoclaw pinned unpin ${tool}`);
    const replaced = (await events(sv.api)).filter((e) => e.type === 'egress' && e.sandbox === 'pinned' && (e.event as { type?: string }).type === 'binary_replaced');
    expect(replaced.length).toBeGreaterThan(0);
    expect(replaced[0]).toMatchObject({ event: { binary: tool } });
    expect(String((replaced[0] as { event: { reason: string } }).event.reason)).toContain(`nemoclaw pinned unpin ${tool}`);
    expect(pinsOnDisk()).toEqual({ [tool]: first }); // the denial does not re-pin

    // A supervisor restart (a fresh process reading pins.json; restart: always brings the sandbox back).
    await sv.stop();
    sv = await serve(home);
    await waitFor(async () => (await sv.api.call<{ sandbox: { state: string } }>('GET', '/v1/sandboxes/pinned')).sandbox.state === 'running', 'running again', { withinMs: 15_000 });
    expect(await fetch('/after-supervisor-restart')).toMatch(/binary_replaced[\s\S]* 403$/);

    // unpin while running: on disk and in the running proxy.
    const missing = await cli(home, ['pinned', 'unpin', '/usr/bin/nothing']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/has no pin for \/usr\/bin\/nothing/);
    const un = await cli(home, ['pinned', 'unpin', tool, '--json']);
    expect(un.code, un.stderr).toBe(0);
    expect(JSON.parse(un.stdout)).toEqual({ unpinned: [tool], pins: {} });
    expect(await fetch('/after-unpin')).toBe('hello from /after-unpin 200');
    const second = sha(tool);
    expect(pinsOnDisk()).toEqual({ [tool]: second });

    // unpin while stopped (every pin): the next start pins what is there then.
    expect((await cli(home, ['pinned', 'stop'])).code).toBe(0);
    installTool(tool, 'version three\n');
    const all = await cli(home, ['pinned', 'unpin']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(`unpinned ${tool}`);
    expect(pinsOnDisk()).toEqual({});
    expect((await cli(home, ['pinned', 'start'])).code).toBe(0);
    expect(await fetch('/after-stopped-unpin')).toBe('hello from /after-stopped-unpin 200');
    expect(pinsOnDisk()).toEqual({ [tool]: sha(tool) });

    const audited = await waitFor(() => {
      const acts = [...readRecords(home)].map((r) => JSON.parse(r.line) as { event: { activity: string; sandbox?: string } }).filter((r) => r.event.sandbox === 'pinned').map((r) => r.event.activity);
      return acts.filter((a) => a === 'unpin').length === 2 ? acts : null;
    }, 'unpin audited', { withinMs: 15_000 });
    expect(audited).toContain('binary_replaced');
  });

  it('an unreadable pins.json fails the start (nothing is re-pinned silently); unpin without a path replaces it', async () => {
    expect((await cli(home, ['pinned', 'stop'])).code).toBe(0);
    writeFileSync(join(home, 'sandboxes', 'pinned', 'pins.json'), '{"version":1,"pins":');
    const start = await cli(home, ['pinned', 'start', '--json']);
    expect(JSON.parse(start.stdout).sandbox).toMatchObject({ lastExit: { reason: 'start_failed', code: 125 } });
    const fail = (await events(sv.api)).filter((e) => e.type === 'sandbox.state' && e.sandbox === 'pinned' && e.state === 'failed').at(-1) as { reason?: string } | undefined;
    expect(fail?.reason).toMatch(/pins unreadable.*nemoclaw pinned unpin/);
    expect((await cli(home, ['pinned', 'stop'])).code).toBe(0);
    expect((await cli(home, ['pinned', 'unpin'])).code).toBe(0);
    expect(pinsOnDisk()).toEqual({});
    expect((await cli(home, ['pinned', 'start'])).code).toBe(0);
    expect(await fetch('/fresh')).toBe('hello from /fresh 200');
  });

  it('two binaries pinned at the same moment are both written to pins.json', async () => {
    const other = join(bin, 'tool2');
    installTool(other, 'another binary\n');
    const get = (exe: string, path: string) => cli(home, ['pinned', 'exec', '--', exe, '-s', '-w', ' %{http_code}', `http://host.nemoclaw.internal:${port}${path}`]);
    const [a, b] = await Promise.all([get(tool, '/a'), get(other, '/b')]);
    expect([a.stdout, b.stdout]).toEqual(['hello from /a 200', 'hello from /b 200']);
    expect(pinsOnDisk()).toEqual({ [tool]: sha(tool), [other]: sha(other) });
  });

  it('destroy removes the pins', async () => {
    const file = join(home, 'sandboxes', 'pinned', 'pins.json');
    expect(existsSync(file)).toBe(true);
    expect((await cli(home, ['pinned', 'destroy', '--yes'])).code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
