// The helper's warm-pool mode (--await-argv, issue 23): a sandbox built, enforced and reported
// ready with no command, which runs one only when the go verdict brings it. Real helper, driven
// through runSandbox({ pooled: true }) as the supervisor's pool does, and directly for what only
// the raw control line can say.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSandboxSpec, runSandbox } from '../../src/sandbox/index.ts';
import type { SandboxEvent } from '../../src/sandbox/index.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HELPER = join(ROOT, 'native/build/nemoclaw-sandbox');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-await-argv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function workspace(): string {
  return mkdtempSync(join(scratch, 'ws-'));
}

function pooled(ws: string, extra: Partial<Parameters<typeof runSandbox>[0]> = {}) {
  const events: SandboxEvent[] = [];
  const sb = runSandbox({ spec: defaultSandboxSpec(), command: [], pooled: true, workspace: ws, stdio: 'pipe', stateDir: join(scratch, 'state'), onEvent: (e) => events.push(e), ...extra });
  let stdout = '';
  let stderr = '';
  sb.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  sb.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { sb, events, out: () => stdout, err: () => stderr };
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** The helper with raw options; returns after the control line was answered (or the helper ended). */
function raw(args: string[], controlLine: string | null): Promise<{ code: number | null; stderr: string; events: Array<Record<string, unknown>> }> {
  return new Promise((done) => {
    const child = spawn(HELPER, ['--events-fd', '3', '--control-fd', '4', ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], cwd: '/' });
    let stderr = '';
    let buf = '';
    const events: Array<Record<string, unknown>> = [];
    const control = child.stdio[4] as Writable;
    control.on('error', () => {});
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    (child.stdio[3] as Readable).on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const ev = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        events.push(ev);
        if (ev['type'] === 'ready' && controlLine !== null) control.write(`${controlLine}\n`);
      }
    });
    child.on('close', (code) => done({ code, stderr, events }));
  });
}

const SYS = ['--ro', '/usr', '--ro', '/lib', '--ro', '/lib64', '--ro', '/bin'];

describe('nemoclaw-sandbox --await-argv (warm pool)', () => {
  it('is ready and enforced before any command, and runs the claimed one with the claimed environment', async () => {
    const ws = workspace();
    const { sb, events, out } = pooled(ws);
    const ready = await sb.ready;
    expect(ready).not.toBeNull();
    // Everything is in force while it waits: the same report a fresh sandbox gives.
    expect(ready?.enforcement).toMatchObject({ no_new_privs: true, cap_eff: '0', seccomp: { mode: 'filter' } });
    expect(ready?.enforcement.landlock.abi).toBeGreaterThan(0);
    // Nothing of a command ran yet: the waiting workload is the helper itself, before execve.
    expect(readlinkSync(`/proc/${ready?.pid}/exe`)).toBe(HELPER);
    expect(sb.claim(['/bin/sh', '-c', 'echo "$GREETING from $(pwd) as $(id -u)"; touch made-here'], { GREETING: 'hello "quoted" wörld' })).toBe(true);
    expect(sb.claim(['/bin/true'])).toBe(false); // one claim per sandbox, never a second command
    const res = await sb.result;
    expect(res.status, JSON.stringify(events.slice(-3))).toBe(0);
    expect(out().trim()).toBe(`hello "quoted" wörld from ${ws} as 1000`);
    expect(existsSync(join(ws, 'made-here'))).toBe(true);
  });

  it('a command that is not there: 127 with exec_errno, as for a fresh sandbox', async () => {
    const { sb } = pooled(workspace());
    expect(await sb.ready).not.toBeNull();
    sb.claim(['no-such-command-anywhere']);
    const res = await sb.result;
    expect(res.status).toBe(127);
    expect(res.execErrno).toBe(2);
  });

  it('the wall-time limit counts from the claim, not from the wait in the pool', async () => {
    const spec = { ...defaultSandboxSpec(), limits: { ...defaultSandboxSpec().limits, wallTimeMs: 1000 } };
    const { sb } = pooled(workspace(), { spec });
    const ready = await sb.ready;
    expect(ready).not.toBeNull();
    // Wait in the pool past the limit (bounded: the helper's own waiting workload is the witness).
    const waitedFrom = Date.now();
    await waitFor(() => Date.now() - waitedFrom > 1500, 'a pool wait longer than the wall-time limit', { withinMs: 5000, everyMs: 100 });
    expect(alive(ready?.pid as number)).toBe(true);
    sb.claim(['/bin/sh', '-c', 'exit 7']);
    const res = await sb.result;
    expect(res.status).toBe(7);
    expect(res.reason).toBe('exited');
  });

  it('ends with nothing left when its parent dies while it waits in the pool', async () => {
    // A parent process that starts a pooled sandbox, prints the waiting workload's pid and the
    // helper's, and is then SIGKILLed: the helper (PDEATHSIG) and the whole sandbox must go.
    const script = `
      import { runSandbox, defaultSandboxSpec } from ${JSON.stringify(join(ROOT, 'src/sandbox/index.ts'))};
      const sb = runSandbox({ spec: defaultSandboxSpec(), command: [], pooled: true, workspace: ${JSON.stringify(workspace())}, stdio: 'pipe', stateDir: ${JSON.stringify(join(scratch, 'state'))} });
      const r = await sb.ready;
      process.stdout.write(JSON.stringify({ helper: sb.pid, workload: r.pid }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let line = '';
    parent.stdout?.setEncoding('utf8').on('data', (d: string) => (line += d));
    const pids = await waitFor(() => (line.includes('\n') ? (JSON.parse(line) as { helper: number; workload: number }) : null), 'the pooled sandbox ready in the parent', { withinMs: 30_000 });
    expect(alive(pids.helper) && alive(pids.workload)).toBe(true);
    parent.kill('SIGKILL');
    await waitFor(() => !alive(pids.helper) && !alive(pids.workload), 'the helper and the waiting workload gone after the parent died', { withinMs: 10_000 });
  });

  it('refuses a malformed claim before any command runs (125, the reason on stderr)', async () => {
    const ws = workspace();
    const base = [...SYS, '--workspace', ws, '--await-verdict', '--await-argv'];
    const cases: Array<[string, string]> = [
      ['{"verdict":"go","argv":[]}', 'argv is empty'],
      ['{"verdict":"go"}', 'no argv'],
      ['{"verdict":"go","argv":["/bin/touch","x"],"env":["NOEQUALS"]}', 'env entry without NAME='],
      ['{"verdict":"go","argv":["/bin/touch","x"],"cwd":"/"}', 'unexpected key after argv'],
      ['{"verdict":"go","argv":["/bin/touch","a\\u0000b"]}', 'NUL in a string'],
      ['{"verdict":"go","argv":["/bin/touch","\\ud800"]}', 'lone surrogate'],
      ['{"verdict":"go","argv":"/bin/touch x"}', 'not an array of strings'],
    ];
    for (const [line, why] of cases) {
      const r = await raw(base, line);
      expect(r.code, line).toBe(125);
      expect(r.stderr, line).toContain(why);
      expect(r.events.at(-1), line).toMatchObject({ type: 'exit', reason: 'setup_failed' });
    }
    expect(spawnSync('ls', ['-A', ws], { encoding: 'utf8' }).stdout).toBe(''); // no touch ever ran
    // Text inside a string is never taken for a key: an argv element that looks like "env".
    const ok = await raw(base, '{"verdict":"go","argv":["/bin/touch","x\\"env\\":[\\"A"],"env":["PATH=/usr/bin:/bin"]}');
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(ws, 'x"env":["A'))).toBe(true);
  });

  it('is refused at argument parsing where a pooled sandbox cannot be built', async () => {
    const ws = workspace();
    const refusals: Array<[string[], string]> = [
      [[...SYS, '--workspace', ws, '--await-argv'], 'needs --await-verdict'],
      [[...SYS, '--workspace', ws, '--await-verdict', '--await-argv', '--', '/bin/true'], 'takes no CMD'],
      [[...SYS, '--workspace', ws, '--await-verdict', '--await-argv', '--exec-allow', '/usr/bin/*', '--exec-unmatched', 'deny'], 'cannot be combined with --exec-allow'],
    ];
    for (const [args, why] of refusals) {
      const r = await raw(args, null);
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr, args.join(' ')).toContain(why);
      expect(r.events.some((e) => e['type'] === 'ready')).toBe(false);
    }
  });
});
