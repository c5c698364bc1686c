// Tool-call asks (kind `tool`, docs/approvals.md "Tool calls") through the queue, the "always"
// table and the places that switch on kinds: the policy's `tools` section, the proxy's body
// parser, the CLI/TUI summary. The proxy's side: test/egress/tool-approvals.test.ts; the real
// agent end to end: test/agents/tool-approvals.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blueprintPolicy, compileEgressRules, loadBlueprint, parsePolicy, PolicyStore } from '../../src/policy/index.ts';
import { parseToolAsk, toolVerdictFromPolicy, ARGS_SHOWN_MAX } from '../../src/egress/approvals-hook.ts';
import { approvalFromItem } from '../../src/tui/source/supervisor-source.ts';
import { ApprovalQueue, alwaysRefusal, policyStorePersistHook } from '../../src/approvals/index.ts';

const by = { user: 'op', origin: 'tty:/dev/pts/1' };
const call = (args: string) => ({ name: 'exec', args, session: 'agent:main:main', reason: null });

let dir: string;
let store: PolicyStore;
let queue: ApprovalQueue;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nemoclaw-tool-'));
  store = new PolicyStore(dir);
  await store.set('version: 1\n# the operator\'s comment survives\napprovals: { unmatched_egress: ask }\n', { author: 'test', reason: 'initial' });
  queue = new ApprovalQueue({ persist: policyStorePersistHook(store) });
});
afterEach(async () => {
  queue.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tool asks in the queue', () => {
  it('identical calls share one item; different arguments are different items; the item carries the call', async () => {
    const a = queue.request({ sandbox: 's', kind: 'tool', binary: '/opt/node', tool: call('{"command":"ls"}') });
    const b = queue.request({ sandbox: 's', kind: 'tool', binary: '/opt/node', tool: call('{"command":"ls"}') });
    const c = queue.request({ sandbox: 's', kind: 'tool', binary: '/opt/node', tool: call('{"command":"rm -rf /"}') });
    const items = queue.list();
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ kind: 'tool', count: 2, tool: { name: 'exec', args: '{"command":"ls"}', session: 'agent:main:main' } });
    await queue.decide(items[0]?.id ?? '', { verdict: 'allow', always: false, by });
    await queue.decide(items[1]?.id ?? '', { verdict: 'deny', always: false, by });
    expect((await a).verdict).toBe('allow');
    expect((await b).verdict).toBe('allow');
    expect((await c).verdict).toBe('deny');
  });

  it('a requester that gives up is answered withdrawn; the item leaves the queue only when nobody waits', async () => {
    const seen: string[] = [];
    queue.on('decided', (_i, r) => seen.push(r.reason));
    const a = new AbortController();
    const b = new AbortController();
    const first = queue.request({ sandbox: 's', kind: 'tool', binary: null, tool: call('{"command":"ls"}') }, { signal: a.signal });
    const second = queue.request({ sandbox: 's', kind: 'tool', binary: null, tool: call('{"command":"ls"}') }, { signal: b.signal });
    a.abort();
    expect(await first).toMatchObject({ verdict: 'deny', reason: 'withdrawn' });
    expect(queue.list()).toHaveLength(1); // the second still waits
    b.abort();
    expect(await second).toMatchObject({ verdict: 'deny', reason: 'withdrawn' });
    expect(queue.list()).toEqual([]);
    expect(seen).toEqual(['withdrawn']);
    // An abort after the decision changes nothing.
    const c = new AbortController();
    const third = queue.request({ sandbox: 's', kind: 'tool', binary: null, tool: call('{}') }, { signal: c.signal });
    await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: false, by });
    c.abort();
    expect(await third).toMatchObject({ verdict: 'allow', reason: 'operator' });
  });

  it('a tool ask nobody answers is denied at its timeout', async () => {
    const r = await queue.request({ sandbox: 's', kind: 'tool', binary: null, tool: call('{}'), timeoutMs: 20 });
    expect(r).toMatchObject({ verdict: 'deny', reason: 'timeout' });
  });

  it.each([
    ['allow', 'allow', ['exec'], undefined],
    ['deny', 'deny', undefined, ['exec']],
  ] as const)('%s always writes tools.%s as a revision, and the proxy\'s rule set answers from it', async (verdict, _list, allow, deny) => {
    const p = queue.request({ sandbox: 's', kind: 'tool', binary: '/opt/node', tool: call('{"command":"ls"}') });
    const id = queue.list()[0]?.id ?? '';
    expect(await queue.decide(id, { verdict, always: true, by })).toMatchObject({ verdict, persisted: true });
    expect((await p).verdict).toBe(verdict);
    const cur = await store.get();
    expect(cur?.policy.tools).toEqual({ ...(allow ? { allow } : {}), ...(deny ? { deny } : {}) });
    expect(cur?.text).toContain("# the operator's comment survives");
    expect(cur?.meta.reason).toContain(`wrote tools.${verdict} += "exec"`);
    expect(toolVerdictFromPolicy(compileEgressRules(cur?.policy ?? { version: 1 }).tools, 'exec')).toBe(verdict);
    expect(toolVerdictFromPolicy(compileEgressRules(cur?.policy ?? { version: 1 }).tools, 'write')).toBeNull();
  });

  it('deny always after allow always moves the tool to tools.deny (one answer per tool); deny wins when both list it', async () => {
    await store.addToolRule({ verdict: 'allow', tool: 'exec', author: 'op', reason: 'r' });
    await store.addToolRule({ verdict: 'deny', tool: 'exec', author: 'op', reason: 'r' });
    expect((await store.get())?.policy.tools).toEqual({ allow: [], deny: ['exec'] });
    const both = compileEgressRules(parsePolicy('version: 1\ntools: { allow: [exec], deny: [exec] }\n', 'p')).tools;
    expect(toolVerdictFromPolicy(both, 'exec')).toBe('deny');
  });

  it('"always" needs the tool\'s name; a bad tool name is refused by the schema', () => {
    expect(alwaysRefusal({ kind: 'tool', binary: null, host: null, port: null }, 'allow')).toMatch(/needs the tool's name/);
    expect(alwaysRefusal({ kind: 'tool', binary: null, host: null, port: null, tool: call('{}') }, 'deny')).toBeNull();
    expect(() => parsePolicy('version: 1\ntools: { ask: ["rm -rf"] }\n', 'p')).toThrow(/tool names use/);
  });
});

describe('the proxy\'s tool ask body', () => {
  it('keeps the tool, the arguments as JSON text (cut), the session and the reason', () => {
    expect(parseToolAsk(JSON.stringify({ tool: 'exec', params: { command: 'touch x' }, sessionKey: 'agent:main:main', sessionId: 'u', reason: 'make a marker' }))).toEqual({ tool: 'exec', args: '{"command":"touch x"}', session: 'agent:main:main', reason: 'make a marker' });
    const long = parseToolAsk(JSON.stringify({ tool: 'write', params: { content: 'x'.repeat(5000) } }));
    expect(typeof long !== 'string' && long.args.length).toBeLessThan(ARGS_SHOWN_MAX + 40);
    expect(typeof long !== 'string' && long.session).toBeNull();
  });

  it.each([
    ['not json', /not JSON/],
    ['[]', /JSON object/],
    ['{"params":{}}', /"tool" must be/],
    ['{"tool":"a b"}', /"tool" must be/],
    [JSON.stringify({ tool: 'x'.repeat(65) }), /"tool" must be/],
  ])('refuses %s', (text, why) => {
    expect(parseToolAsk(text)).toMatch(why);
  });
});

describe('kinds in the operator\'s views', () => {
  it('the TUI row marks a tool call and shows its arguments; "always" previews name the tools list', () => {
    const pa = approvalFromItem({ id: 'ab12', sandbox: 's', kind: 'tool', binary: '/opt/node', host: null, port: null, method: null, path: null, firstSeen: 1, expiresAt: 2, tool: { name: 'exec', args: '{"command":"touch /w/m"}', session: null, reason: 'a marker' } });
    expect(pa).toMatchObject({ kind: 'tool', target: 'exec', summary: 'tool exec {"command":"touch /w/m"} (a marker)' });
    expect(pa.alwaysRule?.allow).toContain('tools:\n  allow: [..., exec]');
    expect(pa.alwaysRule?.deny).toContain('tools:\n  deny: [..., exec]');
  });

  it('a blueprint\'s policy.tools reaches the sandbox\'s policy', async () => {
    const bp = await loadBlueprint('openclaw');
    bp.spec.policy.tools = { ask: ['browser'] };
    expect(blueprintPolicy(bp).tools).toEqual({ ask: ['browser'] });
  });
});
