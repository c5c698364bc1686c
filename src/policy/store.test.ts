import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileEgressRules, decideEgress, loadPreset, PolicyStore } from './index.ts';

const BASE = `# operator's comment survives merges
version: 1
filesystem_policy: { include_workdir: true, read_only: [/usr], read_write: [/tmp] }
approvals: { unmatched_egress: ask }
network_policies:
  docs:
    endpoints: [{ host: docs.example.com, port: 443 }]
`;

let dir: string;
let store: PolicyStore;
const who = { author: 'alice', reason: 'test' };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nemoclaw-policy-store-'));
  store = new PolicyStore(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PolicyStore', () => {
  it('starts empty', async () => {
    expect(await store.history()).toEqual([]);
    expect(await store.get()).toBeNull();
  });

  it('writes numbered revisions with meta and sha256', async () => {
    const r = await store.set(BASE, { ...who, reason: 'initial' });
    expect(r).toMatchObject({ applied: true, dropped: [], staticChanged: [], meta: { rev: 1, author: 'alice', reason: 'initial' } });
    expect((await readdir(join(dir, 'revisions'))).sort()).toEqual(['0001.json', '0001.yaml']);
    expect(await readFile(join(dir, 'revisions', '0001.yaml'), 'utf8')).toBe(BASE);
    const meta = JSON.parse(await readFile(join(dir, 'revisions', '0001.json'), 'utf8'));
    expect(meta.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(new Date(meta.time).toString()).not.toBe('Invalid Date');
    const cur = await store.get();
    expect(cur?.text).toBe(BASE);
    expect(cur?.policy.network_policies?.['docs']).toBeDefined();
  });

  it('refuses invalid text and writes nothing', async () => {
    await expect(store.set('version: 1\nbogus: 1\n', who)).rejects.toThrow(/2:1: bogus: unknown key/);
    expect(await store.history()).toEqual([]);
  });

  it('add merges a preset, keeps comments, and is idempotent', async () => {
    await store.set(BASE, who);
    const npm = await loadPreset('npm');
    const r = await store.add(npm.network_policies, { ...who, reason: 'add npm' });
    expect(r.added).toEqual(['npm_registry']);
    expect(r.meta?.rev).toBe(2);
    const cur = await store.get();
    expect(cur?.text).toContain("# operator's comment survives merges");
    expect(Object.keys(cur?.policy.network_policies ?? {})).toEqual(['docs', 'npm_registry']);
    const again = await store.add(npm.network_policies, who);
    expect(again).toEqual({ meta: null, added: [], unchanged: ['npm_registry'] });
    expect((await store.history()).length).toBe(2);
  });

  it('add refuses to change an existing rule silently', async () => {
    await store.set(BASE, who);
    await expect(store.add({ docs: { endpoints: [{ host: 'other.example.com', port: 443 }] } }, who)).rejects.toThrow(/docs already exists/);
  });

  it('remove drops named rules and reports missing ones', async () => {
    await store.set(BASE, who);
    const r = await store.remove(['docs', 'nope'], who);
    expect(r.removed).toEqual(['docs']);
    expect(r.missing).toEqual(['nope']);
    expect((await store.get())?.policy.network_policies ?? {}).toEqual({});
  });

  it('set lists what it would drop and needs confirmation', async () => {
    await store.set(BASE, who);
    const replacement = 'version: 1\nfilesystem_policy: { read_only: [/usr] }\n';
    const r = await store.set(replacement, who);
    expect(r.applied).toBe(false);
    expect(r.dropped).toEqual(['filesystem read-write /tmp', 'network_policies.docs.endpoints[0] docs.example.com:443 full']);
    expect((await store.history()).length).toBe(1);
    const ok = await store.set(replacement, { ...who, confirm: true });
    expect(ok.applied).toBe(true);
    expect(ok.staticChanged).toEqual(['filesystem_policy']);
    expect(ok.meta?.rev).toBe(2);
  });

  it('rollback writes a new revision with the old text; diff shows the change', async () => {
    await store.set(BASE, who);
    await store.add({ extra: { endpoints: [{ host: 'extra.example.com', port: 443 }] } }, who);
    const diff = await store.diff(1, 2);
    expect(diff).toContain('--- revision 1');
    expect(diff).toContain('+  extra:');
    const meta = await store.rollback(1, { author: 'bob' });
    expect(meta).toMatchObject({ rev: 3, author: 'bob', reason: 'rollback to revision 1', source: 'rollback:1' });
    expect((await store.get())?.text).toBe(BASE);
    expect(await store.diff(1, 3)).toBe('');
    expect((await store.history()).map((h) => h.rev)).toEqual([1, 2, 3]);
    await expect(store.rollback(9, { author: 'bob' })).rejects.toThrow(/no revision 9/);
  });

  it('a crash mid-write leaves the previous revision current', async () => {
    await store.set(BASE, who);
    const revs = join(dir, 'revisions');
    // Crash after the temp file, before rename:
    await writeFile(join(revs, '.tmp-12345-abcdef'), 'version: 1\nhalf');
    // Crash after the yaml landed, before its meta:
    await writeFile(join(revs, '0002.yaml'), 'version: 1\n');
    // Crash with a meta whose yaml is torn (hash mismatch):
    await writeFile(join(revs, '0003.yaml'), 'version: 1\nnetwork_pol');
    await writeFile(join(revs, '0003.json'), JSON.stringify({ rev: 3, author: 'x', reason: 'x', time: new Date().toISOString(), sha256: '0'.repeat(64) }));
    expect((await store.history()).map((h) => h.rev)).toEqual([1]);
    expect((await store.get())?.text).toBe(BASE);
    // The next write takes the next number after the last complete revision and replaces the debris.
    const r = await store.add({ extra: { endpoints: [{ host: 'extra.example.com', port: 443 }] } }, who);
    expect(r.meta?.rev).toBe(2);
    expect((await store.history()).map((h) => h.rev)).toEqual([1, 2]);
  });

  it('takes over a lock left by a dead process', async () => {
    await store.set(BASE, who);
    await writeFile(join(dir, '.lock'), '999999999');
    const r = await store.add({ extra: { endpoints: [{ host: 'extra.example.com', port: 443 }] } }, who);
    expect(r.meta?.rev).toBe(2);
  });

  it('concurrent writers get distinct revision numbers', async () => {
    await store.set(BASE, who);
    const names = ['a', 'b', 'c', 'd', 'e'];
    await Promise.all(names.map((n) => new PolicyStore(dir).add({ [n]: { endpoints: [{ host: `${n}.example.com`, port: 443 }] } }, who)));
    const h = await store.history();
    expect(h.map((m) => m.rev)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Object.keys((await store.get())?.policy.network_policies ?? {}).sort()).toEqual(['a', 'b', 'c', 'd', 'docs', 'e']);
  });

  it('addAlwaysRule records allow and deny answers that then decide', async () => {
    await store.set(BASE, who);
    const allow = await store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: '/usr/bin/curl', author: 'operator', reason: 'approved always in TUI' });
    expect(allow.meta).toMatchObject({ rev: 2, source: 'approval' });
    const deny = await store.addAlwaysRule({ verdict: 'deny', host: 'docs.example.com', port: 443, binary: null, author: 'operator', reason: 'denied always' });
    expect(deny.meta?.rev).toBe(3);
    const rules = compileEgressRules((await store.get())?.policy ?? { version: 1 });
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/usr/bin/curl' }).verdict).toBe('allow');
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/usr/bin/wget' }).verdict).toBe('ask');
    // Deny wins over the existing allow rule for docs.example.com.
    expect(decideEgress(rules, { host: 'docs.example.com', port: 443, binary: '/usr/bin/curl' }).verdict).toBe('deny');
    // Saying "always" twice changes nothing.
    const again = await store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: '/usr/bin/curl', author: 'operator', reason: 'again' });
    expect(again.meta).toBeNull();
  });

  it('addAlwaysRule treats a binary path with glob characters literally', async () => {
    await store.set(BASE, who);
    await store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: '/opt/x[1]/b*n', author: 'o', reason: 'r' });
    const rules = compileEgressRules((await store.get())?.policy ?? { version: 1 });
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/opt/x[1]/b*n' }).verdict).toBe('allow');
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/opt/x1/bin' }).verdict).toBe('ask');
  });
});
