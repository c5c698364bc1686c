// The TUI's view of the inference router: a sandbox's route and mode on its row (from the API and
// from inference.route events), model calls in the egress feeds (sent: allowed; refused,
// failed or redacted: the denial feed), through SupervisorDataSource against a fake client.
import { describe, expect, it } from 'vitest';
import { SupervisorDataSource, type SupervisorApi } from '../../src/tui/source/index.ts';
import type { TuiEvent } from '../../src/tui/store/index.ts';
import { waitFor } from '../helpers/wait.ts';

const route = { sandbox: 'a', rev: 1, mode: 'cloud-with-redaction', models: [{ alias: 'smart', provider: 'nv', model: 'llama-70b' }] };

function fakeApi(): { api: SupervisorApi; streams: Array<{ onLine: (v: Record<string, unknown>) => void; end: () => void }> } {
  const streams: Array<{ onLine: (v: Record<string, unknown>) => void; end: () => void }> = [];
  const call = (async (_method: string, path: string) => {
    if (path === '/v1/health') return { pid: 1 };
    if (path === '/v1/approvals') return { items: [] };
    if (path === '/v1/sandboxes') return { sandboxes: [{ name: 'a', state: 'running', pid: 7, blueprint: 'dev', policyRevision: 1, startedAt: null, enforcement: null }] };
    if (path.endsWith('/inference')) return { route };
    if (path.endsWith('/policy')) return { current: null, applied: 1 };
    return {};
  }) as unknown as SupervisorApi['call'];
  const stream = ((_path: string, onLine: (v: Record<string, unknown>) => void) => {
    let end!: () => void;
    const done = new Promise<void>((r) => (end = r));
    streams.push({ onLine, end });
    return { done, abort: () => end() };
  }) as unknown as SupervisorApi['stream'];
  return { api: { call, stream } as SupervisorApi, streams };
}

const iev = (over: Record<string, unknown>) => ({
  type: 'inference',
  sandbox: 'a',
  binary: '/usr/bin/python3',
  decision: 'sent',
  reason: null,
  endpoint: '/v1/chat/completions',
  alias: 'smart',
  model: 'llama-70b',
  provider: 'nv',
  location: 'cloud',
  mode: 'cloud-with-redaction',
  status: 200,
  redactions: 0,
  latencyMs: 5,
  ttftMs: 4,
  tokensIn: 1,
  tokensOut: 1,
  ...over,
});

describe('inference in the TUI source', () => {
  it('the route on the sandbox row; calls in the egress feeds; redactions and refusals as denials', async () => {
    const { api, streams } = fakeApi();
    const src = new SupervisorDataSource({ api, reconnectMs: 5 });
    const [a] = await src.sandboxes();
    expect(a?.inference).toEqual({ mode: 'cloud-with-redaction', models: 'smart -> nv/llama-70b' });
    const got: TuiEvent[] = [];
    const stop = src.events((e) => got.push(e));
    await waitFor(() => streams[0], 'stream');
    const ev = (seq: number, body: Record<string, unknown>) => ({ seq, ts: new Date(1_000_000 + seq).toISOString(), sandbox: 'a', ...body });
    streams[0]?.onLine(ev(1, { type: 'inference', event: iev({}) }));
    streams[0]?.onLine(ev(2, { type: 'inference', event: iev({ decision: 'redacted', redactions: 2 }) }));
    streams[0]?.onLine(ev(3, { type: 'inference', event: iev({ decision: 'refused', status: 403, reason: 'privacy_local_only' }) }));
    streams[0]?.onLine(ev(4, { type: 'inference.route', rev: 2, mode: 'local-only', models: [{ alias: 'smart', provider: 'vllm', model: 'qwen' }], author: 'me' }));
    stop();
    expect(got.find((e) => e.type === 'egress_allowed')).toMatchObject({ sandbox: 'a', binary: 'python3', host: 'inference.local', rule: 'smart -> nv/llama-70b' });
    const denied = got.filter((e) => e.type === 'egress_denied').map((e) => (e.type === 'egress_denied' ? e.reason : ''));
    expect(denied).toEqual(['redacted 2 values before nv (cloud-with-redaction)', 'refused 403: privacy_local_only /v1/chat/completions']);
    const last = got.filter((e) => e.type === 'sandbox_state').at(-1);
    expect(last?.type === 'sandbox_state' ? last.sandbox.inference : null).toEqual({ mode: 'local-only', models: 'smart -> vllm/qwen' });
    expect(got.some((e) => e.type === 'audit' && e.summary.includes('inference rev 2: local-only'))).toBe(true);
  });
});
