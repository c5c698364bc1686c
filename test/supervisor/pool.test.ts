// The supervisor's warm pool (issue 23): config.json {"pool": {"default": 1}} keeps one sandbox of
// the default policy warm for each workspace that had a sandbox created there. A create that
// matches takes it (and behaves as a fresh sandbox: same enforcement, its own HOME, its own name
// on the proxy's decisions), the pool refills with a different one, a create that does not match
// never takes it, and nothing pooled survives the supervisor. Real supervisor, helper and proxy.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../src/audit/index.ts';
import type { BusEvent, SandboxView } from '../../src/supervisor/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { cli, events, freshHome, pidsWith, serve, workspace } from './harness.ts';
import type { Served } from './harness.ts';

type PoolEvent = BusEvent & { type: 'pool.changed'; pool: string; workspace: string; warm: number };

describe('warm pool', { timeout: 180_000 }, () => {
  let sv: Served;
  let ws: string;
  let home: string;
  beforeAll(async () => {
    home = freshHome();
    writeFileSync(join(home, 'config.json'), JSON.stringify({ pool: { default: 1 } }));
    ws = workspace(home);
    sv = await serve(home);
  });
  afterAll(async () => {
    await sv?.stop();
  });

  const poolEvents = async (): Promise<PoolEvent[]> => (await events(sv.api)).filter((e): e is PoolEvent => e.type === 'pool.changed' && (e as PoolEvent).workspace === ws);
  const warm = (n: number): Promise<PoolEvent> =>
    waitFor(async () => {
      const last = (await poolEvents()).at(-1);
      return last !== undefined && last.warm === n ? last : null;
    }, `${n} warm sandbox(es) for the workspace`, { withinMs: 30_000 });
  const poolIds = (): string[] => (existsSync(join(home, 'run', 'pool')) ? readdirSync(join(home, 'run', 'pool')) : []);
  const create = async (body: Record<string, unknown>): Promise<SandboxView> => (await sv.api.call<{ sandbox: SandboxView }>('POST', '/v1/sandboxes', { workspace: ws, ...body })).sandbox;
  const exec = async (name: string, script: string): Promise<string> => {
    const r = await cli(home, [name, 'exec', '--', '/bin/sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  /** seq of the first event matching, after `from`. */
  const seqOf = async (pred: (e: BusEvent) => boolean): Promise<number> => (await events(sv.api)).find(pred)?.seq ?? -1;

  it('a matching create takes the warm sandbox, which behaves as a fresh one', async () => {
    const first = await create({ name: 'first', command: ['sleep', '1000'] }); // fresh: nothing warm yet
    expect(first.state).toBe('running');
    const filled = await warm(1);
    const [pooledId] = poolIds();
    expect(pooledId).toMatch(/^[0-9a-f]{10}$/);

    const second = await create({ name: 'second', command: ['/bin/sh', '-c', 'echo "$MARK" > "$HOME/mark"; sleep 1000'], env: { MARK: 'from-the-claim' } });
    expect(second.state).toBe('running');
    // Taken from the pool: it said 0 warm after it was filled and before this one ran.
    const running = await seqOf((e) => e.sandbox === 'second' && e.type === 'sandbox.state' && (e as { state: string }).state === 'running');
    expect((await poolEvents()).some((e) => e.warm === 0 && e.seq > filled.seq && e.seq < running)).toBe(true);
    expect(poolIds()).not.toContain(pooledId); // second's now, not the pool's

    // The same checks and the same report as a fresh sandbox of the same policy.
    expect(second.enforcement).toEqual(first.enforcement);
    expect(second.pid).toBeGreaterThan(0);
    // Its HOME is its own and lives in its state (moved there at the claim), the command and env are the claim's.
    await waitFor(() => existsSync(join(home, 'sandboxes', 'second', 'home', 'mark')), 'the mark in the sandbox HOME on the host');
    expect(readFileSync(join(home, 'sandboxes', 'second', 'home', 'mark'), 'utf8').trim()).toBe('from-the-claim');
    expect(await exec('second', 'id -u; pwd; cat "$HOME/mark"')).toBe(`1000\n${ws}\nfrom-the-claim`);
    // The proxy decides under the sandbox's name, not the pool's: a denied request is its event.
    const py = 'import urllib.request\ntry:\n  urllib.request.urlopen("http://denied.example.test/", timeout=10)\nexcept Exception as e:\n  print(type(e).__name__)';
    expect(await exec('second', `python3 -c '${py}'`)).toBe('HTTPError');
    await waitFor(async () => (await events(sv.api)).some((e) => e.type === 'egress' && e.sandbox === 'second'), 'an egress event for sandbox second');
    expect((await events(sv.api)).some((e) => e.type === 'egress' && String(e.sandbox).startsWith('pool-'))).toBe(false);
  });

  it('refills with a different sandbox: one that ran is never handed out again', async () => {
    await warm(1);
    const before = poolIds();
    expect(before).toHaveLength(1);
    await create({ name: 'third', command: ['sleep', '1000'] });
    await warm(1);
    const after = poolIds();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]); // the one third took is third's, for good
    expect((await sv.api.call<{ sandbox: SandboxView }>('GET', '/v1/sandboxes/third')).sandbox.state).toBe('running');
  });

  it('a create that does not match exactly starts fresh and leaves the warm one in the pool', async () => {
    await warm(1);
    const [waiting] = poolIds();
    // Same command and workspace, but a policy file (even one saying what the default says).
    const file = join(home, 'own-policy.yaml');
    writeFileSync(file, 'version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64, /etc], read_write: [/tmp] }\n');
    const from = (await events(sv.api)).at(-1)?.seq ?? 0;
    const own = await create({ name: 'own-policy', policy: file, command: ['sleep', '1000'] });
    expect(own.state).toBe('running');
    // Another workspace with the pooled blueprint: also fresh (the workspace is part of the mounts).
    const other = await create({ name: 'elsewhere', workspace: workspace(home), command: ['sleep', '1000'] });
    expect(other.state).toBe('running');
    expect((await poolEvents()).filter((e) => e.seq > from && e.warm === 0)).toEqual([]);
    expect(poolIds()).toContain(waiting);
  });

  it('a sandbox that came from the pool stops and starts again like any other (the restart is fresh)', async () => {
    const stop = await cli(home, ['second', 'stop', '--json']);
    expect(JSON.parse(stop.stdout).sandbox, stop.stderr).toMatchObject({ state: 'stopped', pid: null });
    const start = await cli(home, ['second', 'start', '--json']);
    expect(JSON.parse(start.stdout).sandbox, start.stderr).toMatchObject({ state: 'running' });
    // Its HOME (moved out of the pool at the claim) is still its own.
    expect(await exec('second', 'cat "$HOME/mark"')).toBe('from-the-claim');
  });

  it('a refill that fails is audited and retried with a growing delay, never in a loop', async () => {
    // A workspace that is gone by the time its refill starts (200 ms after the create answered).
    const doomed = workspace(home);
    expect((await create({ name: 'doomed', workspace: doomed, command: ['sleep', '1000'] })).state).toBe('running');
    rmSync(doomed, { recursive: true, force: true });
    const failures = await waitFor(() => {
      const f = [...readRecords(home)]
        .map((r) => (JSON.parse(r.line) as { event: { activity: string; target?: string; detail?: { retry_ms?: number } } }).event)
        .filter((e) => e.activity === 'pool_start_failed' && e.target === doomed);
      return f.length >= 2 ? f : null;
    }, 'two failed refills of the removed workspace', { withinMs: 20_000 });
    expect(failures.slice(0, 2).map((e) => e.detail?.retry_ms)).toEqual([1000, 2000]);
  });

  it('nothing pooled survives the supervisor', async () => {
    await warm(1);
    const [id] = poolIds();
    const helpers = pidsWith(`pool-${id as string}`);
    expect(helpers.length).toBeGreaterThan(0);
    await sv.stop();
    await waitFor(() => pidsWith(`pool-${id as string}`).length === 0, 'no process of the pooled sandbox left', { withinMs: 15_000 });
    expect(poolIds()).toEqual([]);
    expect(existsSync(join(home, 'run', 'x', `${id as string}.x`))).toBe(false);
  });
});
