import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileEgressRules, compileSandboxSpec, decideEgress, decideExec, loadPreset, PolicyStore } from './index.ts';
import type { Policy } from './index.ts';

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

  // Request-level "always" answers (the ask named a method and path): only that request changes.
  const L7 = `version: 1
approvals: { unmatched_egress: ask }
network_policies:
  api_ro:
    endpoints: [{ host: api.example.com, port: 443, protocol: rest, access: read-only, allowed_ips: [10.1.0.0/16] }]
    binaries: [{ path: /usr/bin/curl }]
  docs:
    endpoints: [{ host: docs.example.com, port: 443 }]
`;
  const curl = '/usr/bin/curl';
  const rulesNow = async () => compileEgressRules((await store.get())?.policy ?? ({ version: 1 } as Policy));
  const req = (host: string, method: string, path: string, query = '', binary: string | null = curl) => ({ host, port: 443, binary, method, path, query });

  it('allow always for a request writes an L7 rule for that method and exact path only (any query), never the whole host', async () => {
    await store.set(L7, who);
    const before = await rulesNow();
    expect(decideEgress(before, req('api.example.com', 'POST', '/v1/items')).verdict).toBe('ask');
    const res = await store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: curl, request: { method: 'post', path: '/v1/items' }, author: 'op', reason: 'approval x' });
    expect(res.meta?.rev).toBe(2);
    const rules = await rulesNow();
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1/items')).verdict).toBe('allow');
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1/items', 'page=2')).verdict).toBe('allow');
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1/items/7')).verdict).toBe('ask');
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1')).verdict).toBe('ask');
    expect(decideEgress(rules, req('api.example.com', 'DELETE', '/v1/items')).verdict).toBe('ask');
    expect(decideEgress(rules, req('api.example.com', 'GET', '/anything')).verdict).toBe('allow');
    // Another program is not covered, and the connection is still inspected (no byte relay).
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1/items', '', '/usr/bin/wget')).verdict).toBe('ask');
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: curl })).toMatchObject({ verdict: 'allow', inspect: true });
    // The approved request reaches the addresses the policy already granted this host (and only those).
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1/items')).allowedIps).toEqual(['10.1.0.0/16']);
    expect(res.entry).toEqual({
      endpoints: [{ host: 'api.example.com', port: 443, protocol: 'rest', rules: [{ allow: { method: 'POST', path: '/v1/items' } }], allowed_ips: ['10.1.0.0/16'] }],
      binaries: [{ path: curl }],
    });
  });

  it('an always rule path is literal: glob characters match only themselves; the path is normalised as requests are', async () => {
    await store.set(L7, who);
    await store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: curl, request: { method: 'PUT', path: '/f/*/[ab]/**' }, author: 'op', reason: 'r' });
    await store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: curl, request: { method: 'PUT', path: '/%7Euser//x' }, author: 'op', reason: 'r' });
    const rules = await rulesNow();
    expect(decideEgress(rules, req('api.example.com', 'PUT', '/f/*/[ab]/**')).verdict).toBe('allow');
    expect(decideEgress(rules, req('api.example.com', 'PUT', '/f/zz/a/deep/er')).verdict).toBe('ask');
    expect(decideEgress(rules, req('api.example.com', 'PUT', '/f/*/a/**')).verdict).toBe('ask');
    expect(decideEgress(rules, req('api.example.com', 'PUT', '/~user/x')).verdict).toBe('allow');
    expect(decideEgress(rules, req('api.example.com', 'PUT', '/~user/y')).verdict).toBe('ask');
    // Two answers for the same host and program are two entries, not a conflict.
    expect(Object.keys((await store.get())?.policy.network_policies ?? {}).filter((n) => n.startsWith('always_allow_PUT_'))).toHaveLength(2);
    await expect(store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: curl, request: { method: 'GET', path: '/a/%2F/b' }, author: 'op', reason: 'r' })).rejects.toThrow(/cannot be matched/);
  });

  it('deny always for a request denies only that method and path: requests the policy allowed stay allowed', async () => {
    await store.set(L7, who);
    // docs.example.com is a plain tunnel for every program; api_ro lets curl read.
    await store.addAlwaysRule({ verdict: 'deny', host: 'api.example.com', port: 443, binary: curl, request: { method: 'GET', path: '/v1/secret' }, author: 'op', reason: 'r' });
    await store.addAlwaysRule({ verdict: 'deny', host: 'docs.example.com', port: 443, binary: null, request: { method: 'POST', path: '/upload' }, author: 'op', reason: 'r' });
    const rules = await rulesNow();
    expect(decideEgress(rules, req('api.example.com', 'GET', '/v1/secret')).verdict).toBe('deny');
    expect(decideEgress(rules, req('api.example.com', 'GET', '/v1/secret', 'a=1')).verdict).toBe('deny');
    expect(decideEgress(rules, req('api.example.com', 'GET', '/v1/items')).verdict).toBe('allow');
    expect(decideEgress(rules, req('api.example.com', 'POST', '/v1/items')).verdict).toBe('ask');
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: curl })).toMatchObject({ verdict: 'allow', inspect: true });
    // Not an `action: deny` on the host: the rest of docs.example.com stays allowed, for every program.
    expect(decideEgress(rules, req('docs.example.com', 'POST', '/upload', '', '/usr/bin/wget')).verdict).toBe('deny');
    expect(decideEgress(rules, req('docs.example.com', 'GET', '/upload', '', '/usr/bin/wget')).verdict).toBe('allow');
    expect(decideEgress(rules, req('docs.example.com', 'POST', '/other')).verdict).toBe('allow');
    expect(decideEgress(rules, { host: 'docs.example.com', port: 443, binary: curl }).verdict).toBe('allow');
    // A host no rule allowed: the deny entry (rules: []) allows nothing, so other requests are still asked.
    await store.addAlwaysRule({ verdict: 'deny', host: 'new.example.com', port: 443, binary: curl, request: { method: 'GET', path: '/x' }, author: 'op', reason: 'r' });
    const after = await rulesNow();
    expect(decideEgress(after, req('new.example.com', 'GET', '/x')).verdict).toBe('deny');
    expect(decideEgress(after, req('new.example.com', 'GET', '/y')).verdict).toBe('ask');
    expect(decideEgress(after, req('new.example.com', 'GET', '/x', '', '/usr/bin/wget')).verdict).toBe('ask');
  });

  it('allow always for an unknown program is refused and writes nothing', async () => {
    await store.set(L7, who);
    const text = (await store.get())?.text;
    await expect(store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: null, author: 'op', reason: 'r' })).rejects.toThrow(/unknown program/);
    await expect(store.addAlwaysRule({ verdict: 'allow', host: 'api.example.com', port: 443, binary: null, request: { method: 'POST', path: '/x' }, author: 'op', reason: 'r' })).rejects.toThrow(/unknown program/);
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);
    expect((await store.get())?.text).toBe(text);
  });

  it("an always revision's reason names exactly the entry it wrote", async () => {
    await store.set(L7, who);
    const res = await store.addAlwaysRule({ verdict: 'deny', host: 'api.example.com', port: 443, binary: curl, request: { method: 'GET', path: '/v1/secret' }, author: 'op', reason: 'approval 1234' });
    const m = /^approval 1234; wrote network_policies\.(\S+): (.*)$/.exec(res.meta?.reason ?? '');
    expect(m?.[1]).toBe(res.name);
    const written = (await store.get())?.policy.network_policies?.[res.name];
    expect(JSON.parse(m?.[2] ?? 'null')).toEqual(written);
    expect(written).toEqual({ endpoints: [{ host: 'api.example.com', port: 443, protocol: 'rest', rules: [], deny_rules: [{ method: 'GET', path: '/v1/secret' }] }], binaries: [{ path: curl }] });
    const l4 = await store.addAlwaysRule({ verdict: 'allow', host: 'x.example.com', port: 443, binary: curl, author: 'op', reason: 'approval 5678' });
    expect(l4.meta?.reason).toBe(`approval 5678; wrote network_policies.${l4.name}: {"endpoints":[{"host":"x.example.com","port":443}],"binaries":[{"path":"/usr/bin/curl"}]}`);
  });

  it('addExecAllow appends the exact path to exec.allow, keeping comments; nothing when already allowed', async () => {
    const EXEC = `version: 1
# exec gate: only system tools
exec:
  allow:
    - /usr/bin/*  # coreutils and friends
  unmatched: ask
`;
    await store.set(EXEC, who);
    const spec0 = compileSandboxSpec((await store.get())?.policy ?? ({ version: 1 } as Policy));
    expect(decideExec(spec0, '/opt/tools/x[1]')).toBe('ask');
    const res = await store.addExecAllow({ path: '/opt/tools/x[1]', author: 'op', reason: 'approval e1' });
    expect(res.meta).toMatchObject({ rev: 2, source: 'approval', author: 'op' });
    expect(res.glob).toBe('/opt/tools/x\\[1\\]');
    expect(res.meta?.reason).toBe(`approval e1; wrote exec.allow += ${JSON.stringify(res.glob)} (exec is static: applies when the sandbox is next created)`);
    const cur = await store.get();
    expect(cur?.text).toContain('# exec gate: only system tools');
    expect(cur?.text).toContain('# coreutils and friends');
    const spec = compileSandboxSpec(cur?.policy ?? ({ version: 1 } as Policy));
    expect(decideExec(spec, '/opt/tools/x[1]')).toBe('allow');
    expect(decideExec(spec, '/opt/tools/x1')).toBe('ask');
    expect(decideExec(spec, '/opt/tools/y')).toBe('ask');
    expect((await store.addExecAllow({ path: '/opt/tools/x[1]', author: 'op', reason: 'again' })).meta).toBeNull();
    expect((await store.addExecAllow({ path: '/usr/bin/ls', author: 'op', reason: 'covered' })).meta).toBeNull();
    await expect(store.addExecAllow({ path: '/usr/bin/../../tmp/x', author: 'op', reason: 'r' })).rejects.toThrow(/canonical/);
    expect((await store.history()).map((m) => m.rev)).toEqual([1, 2]);
  });

  it('addExecAllow never turns an empty exec.allow (everything allowed) into a one-entry allowlist', async () => {
    await store.set(BASE, who);
    expect((await store.addExecAllow({ path: '/opt/x', author: 'op', reason: 'r' })).meta).toBeNull();
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);
  });
});
