// CLI pieces that need no sandbox: onboarding (non-interactive and answers on a pipe), the
// summary box, completions, and the `<name> verb` routing for names that are not sandboxes.
import { describe, expect, it } from 'vitest';
import { summaryBox } from '../../src/cli/onboard.ts';
import { parseSince } from '../../src/cli/sandbox-verbs.ts';
import { editDistance, suggest, validName } from '../../src/supervisor/index.ts';
import { cli, freshHome, serve, workspace } from './harness.ts';

describe('cli helpers', () => {
  it('suggests by edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(suggest('reserch', ['research', 'other', 'resarch2'])).toEqual(['research', 'resarch2']);
    expect(suggest('zzz', ['research'])).toEqual([]);
  });
  it('refuses names that are commands or not DNS-like', () => {
    expect(validName('my-agent')).toBe(true);
    expect(validName('demo')).toBe(false);
    expect(validName('Bad')).toBe(false);
    expect(validName('-x')).toBe(false);
  });
  it('parses --since', () => {
    expect(parseSince('10m', 1_000_000)).toBe(400_000);
    expect(parseSince('2026-01-01T00:00:00Z')).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(() => parseSince('yesterday')).toThrow(/duration/);
  });
  it('draws a summary box with the commands', () => {
    const box = summaryBox('title', [['k', 'v']], ['nemoclaw x connect']);
    const lines = box.trimEnd().split('\n');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(box).toContain('│ nemoclaw x connect');
  });
});

describe('completions', () => {
  it('bash and zsh scripts name the verbs and sandbox verbs', async () => {
    const home = freshHome();
    const b = await cli(home, ['completion', 'bash']);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/complete -o default -F _nemoclaw nemoclaw/);
    expect(b.stdout).toMatch(/serve/);
    expect(b.stdout).toMatch(/connect/);
    const z = await cli(home, ['completion', 'zsh']);
    expect(z.stdout).toMatch(/^#compdef nemoclaw/);
    expect((await cli(home, ['completion', 'fish'])).code).toBe(2);
  });
});

describe('onboard', { timeout: 120_000 }, () => {
  it('non-interactive: flags for every answer, ends with the summary box and the commands', async () => {
    const home = freshHome();
    const ws = workspace(home);
    const sv = await serve(home);
    try {
      const r = await cli(home, ['onboard', '--non-interactive', '--name', 'agent-one', '--blueprint', 'dev', '--provider', 'openai', '--credential-env', 'OPENAI_API_KEY', '--presets', 'slack', '--workspace', ws, '--', 'sleep', '1000']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/sandbox agent-one is running/);
      expect(r.stdout).toMatch(/key from \$OPENAI_API_KEY/);
      for (const c of ['connect', 'status', 'logs --follow']) expect(r.stdout).toContain(`nemoclaw agent-one ${c}`);
      const st = JSON.parse((await cli(home, ['agent-one', 'status', '--json'])).stdout);
      expect(st.sandbox).toMatchObject({ blueprint: 'dev', presets: ['slack'], inference: { provider: 'openai', credentialEnv: 'OPENAI_API_KEY' }, policyRevision: 2, restart: 'on-failure' });
      const bad = await cli(home, ['onboard', '--non-interactive', '--name', 'x2', '--presets', 'nope', '--workspace', ws]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/unknown preset nope/);
      // the wizard, answered on a pipe
      const w = await cli(home, ['onboard', '--json', '--', 'sleep', '1000'], `agent-two\nstrict\nnone\n-\n${ws}\n`);
      expect(w.code, w.stderr).toBe(0);
      expect(JSON.parse(w.stdout).answers).toMatchObject({ name: 'agent-two', blueprint: 'strict', provider: 'none', credentialEnv: null, presets: [], workspace: ws });
    } finally {
      await sv.stop();
    }
  });
  it('without a supervisor says how to start one', async () => {
    const r = await cli(freshHome(), ['onboard', '--non-interactive', '--name', 'agent-x']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/nemoclaw serve &/);
  });
});
