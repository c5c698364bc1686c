import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileEgressRules, compileSandboxSpec, decideEgress, decideExec, PolicyStore } from '../policy/index.ts';
import type { Policy } from '../policy/index.ts';
import { ApprovalQueue, ApprovalRefusedError, policyStorePersistHook } from './index.ts';

const by = { user: 'op', origin: 'tty:/dev/pts/1' };
const POLICY = `version: 1
exec: { allow: [/usr/bin/*], unmatched: ask }
approvals: { unmatched_egress: ask }
network_policies:
  api_ro:
    endpoints: [{ host: api.example.com, port: 443, protocol: rest, access: read-only }]
    binaries: [{ path: /usr/bin/curl }]
`;

let dir: string;
let store: PolicyStore;
let reloads: number;
let queue: ApprovalQueue;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nemoclaw-persist-'));
  store = new PolicyStore(dir);
  await store.set(POLICY, { author: 'test', reason: 'initial' });
  reloads = 0;
  queue = new ApprovalQueue({ persist: policyStorePersistHook(store, () => void reloads++) });
});
afterEach(async () => {
  queue.close();
  await rm(dir, { recursive: true, force: true });
});

const current = async (): Promise<Policy> => (await store.get())?.policy ?? { version: 1 };
const decideOnly = async (id: string, verdict: 'allow' | 'deny') => queue.decide(id, { verdict, always: true, by });

describe('policyStorePersistHook', () => {
  it('allow always after a request-level ask allows that method and path; DELETE on the same host is still asked', async () => {
    const p = queue.request({ sandbox: 's', kind: 'egress', binary: '/usr/bin/curl', host: 'api.example.com', port: 443, method: 'POST', path: '/v1/items' });
    const item = queue.list()[0];
    expect(await decideOnly(item?.id ?? '', 'allow')).toMatchObject({ verdict: 'allow', persisted: true });
    expect((await p).verdict).toBe('allow');
    expect(reloads).toBe(1);
    const rules = compileEgressRules(await current());
    const at = (method: string, path: string) => decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/usr/bin/curl', method, path, query: '' }).verdict;
    expect(at('POST', '/v1/items')).toBe('allow');
    expect(at('DELETE', '/v1/items')).toBe('ask');
    expect(at('POST', '/v1/other')).toBe('ask');
    expect(at('GET', '/v1/other')).toBe('allow');
    const meta = (await store.history()).at(-1);
    expect(meta).toMatchObject({ author: 'op', source: 'approval' });
    expect(meta?.reason).toMatch(new RegExp(`^approval ${item?.id} \\(allow always\\) from tty:/dev/pts/1 after POST /v1/items; wrote network_policies\\.always_allow_POST_api_example_com_443_curl_[0-9a-f]{8}: \\{"endpoints":\\[\\{"host":"api.example.com","port":443,"protocol":"rest","rules":\\[\\{"allow":\\{"method":"POST","path":"/v1/items"\\}\\}\\]\\}\\],"binaries":\\[\\{"path":"/usr/bin/curl"\\}\\]\\}$`));
  });

  it('deny always after a request-level ask denies that request only; the GET the policy allowed stays allowed', async () => {
    const p = queue.request({ sandbox: 's', kind: 'egress', binary: '/usr/bin/curl', host: 'api.example.com', port: 443, method: 'DELETE', path: '/v1/items' });
    expect(await decideOnly(queue.list()[0]?.id ?? '', 'deny')).toMatchObject({ verdict: 'deny', persisted: true });
    expect((await p).verdict).toBe('deny');
    const rules = compileEgressRules(await current());
    const at = (method: string, path: string) => decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/usr/bin/curl', method, path, query: '' }).verdict;
    expect(at('DELETE', '/v1/items')).toBe('deny');
    expect(at('GET', '/v1/items')).toBe('allow');
    expect(at('DELETE', '/v1/other')).toBe('ask');
    expect(decideEgress(rules, { host: 'api.example.com', port: 443, binary: '/usr/bin/curl' })).toMatchObject({ verdict: 'allow', inspect: true });
  });

  it('allow always for an unknown program is refused: nothing is written and the request is not allowed', async () => {
    const p = queue.request({ sandbox: 's', kind: 'egress', binary: null, host: 'api.example.com', port: 443, method: 'POST', path: '/v1/items' });
    const id = queue.list()[0]?.id ?? '';
    await expect(decideOnly(id, 'allow')).rejects.toThrow(ApprovalRefusedError);
    // Still pending: a settled item leaves the list, and only settling resolves its waiters.
    expect(queue.list().map((i) => i.id)).toEqual([id]);
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);
    // Called directly (not through the queue), the hook refuses too.
    const item = queue.get(id);
    await expect(policyStorePersistHook(store)(item ?? ({} as never), { verdict: 'allow', always: true, by })).rejects.toThrow(/unknown/);
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);
    expect(reloads).toBe(0);
    const last = await queue.decide(id, { verdict: 'deny', always: false, by });
    expect(last).toMatchObject({ verdict: 'deny', always: false, reason: 'operator' });
    // A promise settles once: the waiter got this last decision, so the refused one settled nothing.
    expect(await p).toEqual(last);
  });

  it('allow always for exec appends the path to exec.allow of a new revision; deny always for exec is refused', async () => {
    const p = queue.request({ sandbox: 's', kind: 'exec', binary: '/opt/tools/run' });
    const id = queue.list()[0]?.id ?? '';
    await expect(decideOnly(id, 'deny')).rejects.toThrow(/no exec deny list/);
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);
    expect(await decideOnly(id, 'allow')).toMatchObject({ verdict: 'allow', persisted: true });
    expect((await p).verdict).toBe('allow');
    const spec = compileSandboxSpec(await current());
    expect(spec.exec.allow).toEqual(['/usr/bin/*', '/opt/tools/run']);
    expect(decideExec(spec, '/opt/tools/run')).toBe('allow');
    expect(decideExec(spec, '/opt/tools/other')).toBe('ask');
    expect((await store.history()).at(-1)?.reason).toMatch(/^approval \S+ \(allow always\) from tty:\/dev\/pts\/1 after exec of \/opt\/tools\/run; wrote exec\.allow \+= "\/opt\/tools\/run"/);
  });

  it('a request path that no rule can match fails closed: allow always denies the request and writes nothing', async () => {
    const p = queue.request({ sandbox: 's', kind: 'egress', binary: '/usr/bin/curl', host: 'api.example.com', port: 443, method: 'POST', path: '/a/..;/b' }); // a dot segment behind ;params: refused by normalizeRequestPath
    const r = await decideOnly(queue.list()[0]?.id ?? '', 'allow');
    expect(r).toMatchObject({ verdict: 'deny', persisted: false });
    expect(r?.persistError).toMatch(/cannot be matched/);
    expect((await p).verdict).toBe('deny');
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);
  });
});
