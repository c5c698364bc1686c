// `nemoclaw policy learn` as a user runs it, without a supervisor (issue 22): the events of a
// one-shot `sandbox run --events` feed it as they are; `--apply` on a terminal shows the diff and
// asks (a real PTY: n writes nothing, y writes the revision); off a terminal it needs --yes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PolicyStore } from '../../src/policy/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { spawnOnScreen } from '../tui/helpers/pty.ts';
import type { Run } from '../tui/helpers/pty.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/nemoclaw');

function freshHome(): string {
  return mkdtempSync(join(process.env.NEMOCLAW_HOME as string, 'h'));
}

function nemoclaw(home: string, args: string[], input?: string) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, NEMOCLAW_HOME: home }, cwd: home, input: input ?? '' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

const running: Run[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (!r.exited) {
      r.p.kill('SIGTERM');
      await r.exit;
    }
    r.screen.dispose();
  }
});

/** A policy restricting exec to a few programs and letting others through recorded: exec's learning mode. */
const EXEC_LEARNING = `version: 1
filesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64, /etc], read_write: [/tmp] }
exec: { allow: ["/usr/bin/sh", "/bin/sh", "/usr/bin/dash", "/bin/dash", "/usr/bin/env"], unmatched: allow }
`;

describe('policy learn --events with the output of sandbox run --events', () => {
  it('proposes the programs run outside the allowlist, and nothing else (not the PATH lookups of execvp)', () => {
    const home = freshHome();
    const policy = join(home, 'exec-learning.yaml');
    writeFileSync(policy, EXEC_LEARNING);
    const events = join(home, 'run.ndjson');
    // Outside NEMOCLAW_HOME: a workspace inside nemoclaw's state is refused.
    const ws = mkdtempSync(join(tmpdir(), 'ncws-'));
    cleanup.push(ws);
    const run = nemoclaw(home, ['sandbox', 'run', '--policy', policy, '--workspace', ws, '--events', events, '--', '/bin/sh', '-c', '/usr/bin/env id -u >/dev/null; /usr/bin/true']);
    expect(run.code, run.err).toBe(0);
    const lines = readFileSync(events, 'utf8');
    expect(lines).toContain('"type":"exec_allowed"');
    const r = nemoclaw(home, ['policy', 'learn', '--events', events, '--base', policy, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toContain('skipped');
    const res = JSON.parse(r.out) as { exec: { path: string; hits: number }[]; execNotFound: string[]; rules: unknown[]; policy: { exec: { allow: string[]; unmatched: string } } };
    // env's execvp tried /usr/local/sbin/id, /usr/local/bin/id, ... first: each try is an exec the
    // helper reports, and none of them names a program, so none is proposed.
    expect(res.execNotFound).toContain('/usr/local/bin/id');
    expect(res.exec).toEqual([
      { path: '/usr/bin/id', hits: 1 },
      { path: '/usr/bin/true', hits: 1 },
    ]);
    expect(res.rules).toEqual([]);
    expect(res.policy.exec.allow.slice(-2)).toEqual(['/usr/bin/id', '/usr/bin/true']);
  });
});

describe('policy learn --apply', () => {
  const trace = [
    '{"type":"egress","url":"https://api.example.com/v1/items","method":"GET","binary":"/usr/bin/curl"}',
    '{"type":"egress","url":"https://api.example.com/v1/items","method":"POST","binary":"/usr/bin/curl"}',
  ].join('\n');

  function setUp(): { home: string; events: string; store: PolicyStore } {
    const home = freshHome();
    const base = join(home, 'base.yaml');
    writeFileSync(base, '# ours\nversion: 1\napprovals: { unmatched_egress: audit }\n');
    const set = nemoclaw(home, ['policy', 'set', '--sandbox', 'sb', base, '--yes']);
    expect(set.code, set.err).toBe(0);
    const events = join(home, 'trace.jsonl');
    writeFileSync(events, trace);
    return { home, events, store: new PolicyStore(join(home, 'sandboxes', 'sb', 'policy')) };
  }

  function onTerminal(home: string, args: string[]): Run {
    const r = spawnOnScreen(bin, args, 120, 40, { cwd: home, env: { ...process.env, NEMOCLAW_HOME: home, TERM: 'xterm-256color' } as Record<string, string> });
    running.push(r);
    return r;
  }

  async function see(r: Run, text: string): Promise<void> {
    await waitFor(() => r.screen.text().includes(text), () => `${text} on the screen:\n${r.screen.text()}`, { withinMs: 20_000 });
  }

  it('on a terminal: shows the diff and asks; n writes nothing, y writes the revision', async () => {
    const { home, events, store } = setUp();
    const no = onTerminal(home, ['policy', 'learn', '--sandbox', 'sb', '--events', events, '--unmatched', 'deny', '--apply']);
    await see(no, 'write this as revision 2 of sb? [y/N]');
    expect(no.screen.text()).toContain('+  learned_api_example_com_443:');
    expect(no.screen.text()).toContain('+approvals: { unmatched_egress: deny }');
    no.p.write('n\r');
    expect((await no.exit).exitCode).toBe(1);
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);

    const yes = onTerminal(home, ['policy', 'learn', '--sandbox', 'sb', '--events', events, '--unmatched', 'deny', '--apply']);
    await see(yes, 'write this as revision 2 of sb? [y/N]');
    yes.p.write('y\r');
    await see(yes, 'revision 2 written');
    expect((await yes.exit).exitCode).toBe(0);
    const cur = await store.get();
    expect(cur?.meta).toMatchObject({ rev: 2, source: 'learn' });
    expect(cur?.text).toContain('# ours');
    expect(cur?.policy.approvals?.unmatched_egress).toBe('deny');
    expect(cur?.policy.network_policies?.['learned_api_example_com_443']?.endpoints[0]?.rules).toEqual([
      { allow: { method: 'GET', path: '/v1/items' } },
      { allow: { method: 'POST', path: '/v1/items' } },
    ]);
    // Learning again from the same events: the revision already allows them.
    const again = nemoclaw(home, ['policy', 'learn', '--sandbox', 'sb', '--events', events, '--apply', '--yes']);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('nothing to learn');
  });

  it('off a terminal: the diff, and nothing written without --yes; --apply needs --sandbox', () => {
    const { home, events, store } = setUp();
    const r = nemoclaw(home, ['policy', 'learn', '--sandbox', 'sb', '--events', events, '--apply']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('+++ learned');
    expect(r.err).toContain('nothing written; review the diff and re-run with --yes');
    expect(nemoclaw(home, ['policy', 'learn', '--events', events, '--apply']).code).toBe(2);
    expect(nemoclaw(home, ['policy', 'learn']).code).toBe(2);
    expect(nemoclaw(home, ['policy', 'learn', '--events', events, '--since', '10m']).code).toBe(2);
    return store.history().then((h) => expect(h.map((m) => m.rev)).toEqual([1]));
  });
});
