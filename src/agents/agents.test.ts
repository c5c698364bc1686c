// Pure parts of the agents component: agent specs, OpenClaw's generated config, a turn's JSON to
// chat events. The real install, sandbox and turns are in test/agents/.
import { describe, expect, it } from 'vitest';
import { agentReady, chatArgv, openclaw, openclawConfig, parseAgentSpec, parseTurn } from './index.ts';

describe('agent specs', () => {
  it('takes the pinned version by default and refuses path-like versions', () => {
    expect(parseAgentSpec('openclaw').version).toBeNull();
    expect(parseAgentSpec('openclaw@2026.9.6').version).toBe('2026.9.6');
    expect(() => parseAgentSpec('openclaw@../x')).toThrow(/bad version/);
    expect(() => parseAgentSpec('openclaw@a/b')).toThrow(/bad version/);
    expect(() => parseAgentSpec('nope')).toThrow(/unknown agent "nope"/);
  });
});

describe('OpenClaw config', () => {
  it('routes every model through inference.local with the placeholder key and a loopback gateway', () => {
    const c = openclawConfig({ aliases: ['fast', 'smart'], workspace: '/w', token: 'a'.repeat(48), pluginDir: '/p' }) as {
      models: { mode: string; providers: Record<string, { baseUrl: string; apiKey: string; models: Array<{ id: string }> }> };
      agents: { defaults: { model: { primary: string }; workspace: string } };
      gateway: { bind: string; auth: { token: string } };
      update: { checkOnStart: boolean };
      memory: unknown;
    };
    expect(c.models.mode).toBe('replace');
    expect(Object.keys(c.models.providers)).toEqual(['nemoclaw']);
    expect(c.models.providers.nemoclaw).toMatchObject({ baseUrl: 'http://inference.local/v1', apiKey: 'nemoclaw-placeholder' });
    expect(c.models.providers.nemoclaw?.models.map((m) => m.id)).toEqual(['fast', 'smart']);
    expect(c.agents.defaults).toEqual({ model: { primary: 'nemoclaw/fast' }, workspace: '/w' });
    expect(c.memory).toEqual({ search: { provider: 'openai', remote: { baseUrl: 'http://inference.local/v1', apiKey: 'nemoclaw-placeholder' } } });
    expect(c.gateway.bind).toBe('loopback');
    expect(c.update.checkOnStart).toBe(false);
  });

  it('enables the tool-approval plugin from its copy: the policy\'s tools.ask, a wait past the queue\'s timeout, a hook budget past that', () => {
    const c = openclawConfig({ aliases: ['m'], workspace: '/w', token: 'a'.repeat(48), pluginDir: '/p', tools: { ask: ['browser'], approvalTimeoutMs: 120_000 } }) as { plugins: unknown };
    expect(c.plugins).toEqual({
      load: { paths: ['/p'] },
      entries: { nemoclaw: { enabled: true, config: { workspace: '/w', ask: ['browser'], waitMs: 130_000 }, hooks: { timeouts: { before_tool_call: 135_000 } } } },
    });
    // OpenClaw takes hook budgets up to 600 s: a longer approval timeout is cut to fit.
    const long = openclawConfig({ aliases: ['m'], workspace: '/w', token: 'a'.repeat(48), pluginDir: '/p', tools: { ask: [], approvalTimeoutMs: 3_600_000 } }) as { plugins: { entries: { nemoclaw: { hooks: { timeouts: { before_tool_call: number } } } } } };
    expect(long.plugins.entries.nemoclaw.hooks.timeouts.before_tool_call).toBeLessThanOrEqual(600_000);
  });
});

describe('agent readiness', () => {
  it('OpenClaw is ready only once its gateway and the tool-approval plugin both said so', () => {
    const ready = '2026-12-06T05:33:56.383+00:00 [gateway] ready';
    const plugin = '[plugins] nemoclaw: tool approvals on (asks before exec, process, bash; writes outside /w)';
    expect(agentReady(openclaw, [plugin, ready])).toBe(true);
    // A plugin OpenClaw skipped (it warns "blocked plugin candidate") would leave every tool unasked.
    expect(agentReady(openclaw, ['[plugins] blocked plugin candidate: suspicious ownership (/p, uid=65534, expected uid=1000 or root)', ready])).toBe(false);
    expect(agentReady(openclaw, [plugin])).toBe(false);
  });
});

describe('chat turns', () => {
  it('passes the message as one argument, never through a shell', () => {
    expect(chatArgv('openclaw', 'a; rm -rf / $(x)')).toEqual(['openclaw', 'agent', '--agent', 'main', '--message', 'a; rm -rf / $(x)', '--json', '--timeout', '120']);
  });

  it('reads answers and the end of a turn from the agent\'s JSON; no JSON is one error with the last line', () => {
    const json = JSON.stringify({ status: 'ok', result: { payloads: [{ text: 'hi' }, { text: null }], meta: { stopReason: 'stop', agentMeta: { sessionId: 's1', provider: 'nemoclaw', model: 'm', assistantTurns: 2 } } } });
    expect(parseTurn('openclaw', 'sb', `noise\n${json}`, '', 0, 42)).toEqual([
      { type: 'chat.answer', sandbox: 'sb', text: 'hi' },
      { type: 'chat.end', sandbox: 'sb', status: 'ok', ms: 42, model: 'm', provider: 'nemoclaw', session: 's1', assistantTurns: 2, stopReason: 'stop' },
    ]);
    expect(parseTurn('openclaw', 'sb', '', 'warming up\ngateway closed (1006)\n', 1, 5)).toEqual([{ type: 'chat.error', sandbox: 'sb', reason: 'the agent answered nothing (exit 1): gateway closed (1006)' }]);
  });
});
