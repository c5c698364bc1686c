// Egress caller attribution (docs/design.md invariant 2; docs/peers.md red-team cases #53/#55): the helper names the
// process behind each connection to the proxy port (pid, exe, sha256) and the proxy applies
// `binaries:` rules to that name. A workload must not be able to borrow an allowed binary's name:
// connect first, fork, keep using the socket in the child while the parent execs an allowed
// binary that inherits it (the helper finds the socket's owners through /proc after the fact). The helper reports what it attributed in its egress events
// (egress_refused here, since `sandbox run` has no proxy configured; egress_connection with one).
// There is no unsandboxed counterpart: attribution exists only inside the sandbox. The control
// case proves that the check sees the real caller when nobody plays tricks.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, TMP, cliEnv, readEvents, run, useProbeBuild } from './harness.ts';

const build = useProbeBuild();

/** Runs `net <scene>` in a sandbox; returns the exe of its egress event(s) and the run's text. */
async function scene(args: string[]): Promise<{ ws: string; exes: string[]; text: string }> {
  const ws = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-attr-'));
  const meta = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-attr-ev-'));
  try {
    fs.copyFileSync(path.join(build(), 'net'), path.join(ws, 'net'));
    fs.chmodSync(path.join(ws, 'net'), 0o755);
    const events = path.join(meta, 'events.ndjson');
    const r = await run(CLI, ['sandbox', 'run', '--workspace', ws, '--events', events, '--', './net', ...args], {
      cwd: ws,
      env: cliEnv(),
      timeoutMs: 30_000,
    });
    const evs = readEvents(events);
    const exes = evs.filter((e) => String(e['type']).startsWith('egress_')).map((e) => String(e['exe']));
    return { ws, exes, text: `exit ${r.code}\n${r.stdout}${r.stderr}\nevents: ${JSON.stringify(evs.filter((e) => e['type'] !== 'ready'))}` };
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
    fs.rmSync(meta, { recursive: true, force: true });
  }
}

describe.concurrent('egress attribution cannot be borrowed from an allowed binary', () => {
  it('control: a plain connection is attributed to the program that made it', async () => {
    const s = await scene(['connect-only', '3128']);
    expect(s.exes, s.text).toEqual([path.join(s.ws, 'net')]);
  }, 60_000);

  it('connect, fork: the child keeps writing while the parent execs an allowed binary: not attributed to that binary', async () => {
    const s = await scene(['connect-fork-exec', '3128', '/bin/sleep']);
    expect(s.exes.length, s.text).toBeGreaterThan(0);
    for (const exe of s.exes) expect(exe, `attributed to the exec'd binary while the unlisted child does the talking\n${s.text}`).not.toMatch(/\/sleep$/);
  }, 60_000);
});
