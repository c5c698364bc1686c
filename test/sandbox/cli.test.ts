// Integration: the real CLI (bin/nemoclaw) driving the real native helper. The helper is built
// with `make -C native` first; when it does not build, the first test fails with make's output
// and the rest are skipped (they would only repeat that failure).
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXEC_ASK_POLICY, asOrdinaryUser, buildHelper, root } from './build-helper.ts';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { IS_ROOT, skipUnless } from '../helpers/skip.ts';
import { waitFor } from '../helpers/wait.ts';

const bin = join(root, 'bin', 'nemoclaw');
const fakeNnpOff = join(root, 'test', 'sandbox', 'fixtures', 'fake-helper-nnp-off.sh');

const build = buildHelper();
const helperBuilt = build.ok;

const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-sandbox-'));
const home = join(scratch, 'home');
let ws = '';
let n = 0;

beforeEach(() => {
  ws = mkdtempSync(join(scratch, `ws${n++}-`));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function nemoclaw(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(bin, args, {
    encoding: 'utf8',
    cwd: ws,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: home, ...env },
  });
}

function run(cmd: string[], extra: string[] = [], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return nemoclaw(['sandbox', 'run', '--workspace', ws, ...extra, '--', ...cmd], env);
}

function events(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Audit events of one sandbox, from the log's segment files (complete lines only). */
function auditEvents(sandbox: string): Array<{ kind: string; activity: string; sandbox?: string }> {
  const dir = join(home, 'audit');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').slice(0, -1))
    .map((l) => (JSON.parse(l) as { event: { kind: string; activity: string; sandbox?: string } }).event)
    .filter((e) => e.sandbox === sandbox);
}

describe('nemoclaw sandbox run (real helper)', () => {
  it('the native helper builds with make -C native', () => {
    expect(helperBuilt, `make -C native failed:\n${build.output}`).toBe(true);
  });

  describe('with the helper', () => {
    it('exits 0 with the command', () => {
      const r = run(['true']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it("exits with the command's own status", () => {
      expect(run(['sh', '-c', 'exit 3']).status).toBe(3);
    });

    it('exits 127 when the command is not found inside, and says so', () => {
      const r = run(['no-such-command-nemoclaw']);
      expect(r.status).toBe(127);
      expect(r.stderr).toBe('nemoclaw: no-such-command-nemoclaw: command not found in the sandbox (errno 2)\n');
    });

    it('exits 128+9 when the command is killed by SIGKILL, with an exit event saying so', () => {
      const file = join(scratch, `ev-kill-${n}.ndjson`);
      const r = run(['sh', '-c', 'kill -9 $$'], ['--events', file]);
      expect(r.status).toBe(137);
      const exit = events(file).at(-1);
      expect(exit).toMatchObject({ type: 'exit', signal: 'SIGKILL', code: null });
      expect(['signaled', 'seccomp_kill', 'memory']).toContain(exit?.reason);
    });

    it('writes the documented NDJSON events: ready first, exit last, each with ts, sandbox, type', () => {
      const file = join(scratch, `ev-${n}.ndjson`);
      expect(run(['true'], ['--events', file]).status).toBe(0);
      const evs = events(file);
      for (const e of evs) {
        expect(Object.keys(e).slice(0, 3)).toEqual(['type', 'ts', 'sandbox']);
        expect(Number.isNaN(Date.parse(String(e.ts)))).toBe(false);
        expect(e.sandbox).toBe(evs[0]?.sandbox);
      }
      expect(evs[0]).toMatchObject({ type: 'ready', enforcement: { no_new_privs: true, seccomp: { mode: 'filter' } } });
      expect(evs.at(-1)).toMatchObject({ type: 'exit', code: 0, signal: null, reason: 'exited' });
    });

    it('runs as an unprivileged uid with no capabilities and a private HOME', () => {
      const r = run(['sh', '-c', 'id -u; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; echo "$HOME"']);
      expect(r.status).toBe(0);
      const [uid, ...rest] = r.stdout.trim().split('\n');
      expect(Number(uid)).toBeGreaterThan(0);
      expect(rest.join('\n')).toMatch(/CapEff:\s+0+\n/);
      expect(rest.join('\n')).toMatch(/NoNewPrivs:\s+1/);
      expect(rest.at(-1)).toBe('/home/sandbox');
    });

    it("never passes the caller's environment in, and points the proxy variables at the sandbox listener", () => {
      const r = run(['env'], [], { OPENAI_API_KEY: 'sk-nemoclaw-test-secret', AWS_SECRET_ACCESS_KEY: 'nemoclaw-test-aws' });
      expect(r.status).toBe(0);
      expect(r.stdout).not.toContain('nemoclaw-test');
      expect(r.stdout).toContain('HTTPS_PROXY=http://127.0.0.1:3128');
      expect(r.stdout).toContain('NODE_USE_ENV_PROXY=1');
    });

    it('keeps the workspace writable and what it creates owned by the workspace owner on the host', () => {
      const r = run(['sh', '-c', 'echo hi > made.txt && mkdir dir && pwd']);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(ws);
      expect(readFileSync(join(ws, 'made.txt'), 'utf8')).toBe('hi\n');
      expect(statSync(join(ws, 'made.txt')).uid).toBe(statSync(ws).uid);
      expect(statSync(join(ws, 'dir')).uid).toBe(statSync(ws).uid);
    });

    it('a 0700 workspace of another owner stays theirs (idmapped), nothing is chmodded', (ctx) => {
      skipUnless(ctx, IS_ROOT, 'needs root: chowns the workspace to another uid');
      chownSync(ws, 4321, 4321);
      chmodSync(ws, 0o700);
      const r = run(['sh', '-c', 'echo hi > owned.txt']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(statSync(join(ws, 'owned.txt')).uid).toBe(4321);
      expect(statSync(ws).mode & 0o777).toBe(0o700);
    });

    it('runs a normal build tool: cc compiles and runs hello world in the workspace', () => {
      writeFileSync(join(ws, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello from the sandbox"); return 0; }\n');
      const r = run(['sh', '-c', 'cc -o hello hello.c && ./hello']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hello from the sandbox\n');
      expect(r.status).toBe(0);
    });

    it('denies reading host secrets and writing outside the workspace', () => {
      expect(run(['cat', '/etc/shadow']).status).not.toBe(0);
      const r = run(['touch', '/usr/nemoclaw-test-marker']);
      expect(r.status).not.toBe(0);
      expect(existsSync('/usr/nemoclaw-test-marker')).toBe(false);
    });

    it('denies exec asks when no terminal can answer, with exec_denied events', () => {
      const policy = join(ws, 'exec-ask.yaml');
      writeFileSync(policy, EXEC_ASK_POLICY);
      const file = join(scratch, `ev-ask-${n}.ndjson`);
      const r = run(['sh', '-c', 'ls / >/dev/null; echo "ls=$?"'], ['--policy', policy, '--events', file]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).not.toBe('ls=0');
      const evs = events(file);
      expect(evs.some((e) => e.type === 'exec_ask' && String(e.path).endsWith('/ls'))).toBe(true);
      expect(evs.some((e) => e.type === 'exec_denied' && String(e.path).endsWith('/ls'))).toBe(true);
      expect(evs.some((e) => e.type === 'exec_allowed' && String(e.path).endsWith('/ls'))).toBe(false);
    });

    it('kills the tree at the wall-time limit: 128+9, a limit_hit event and an exit event saying why', () => {
      const policy = join(ws, 'wall.yaml');
      writeFileSync(policy, 'version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }\nlimits: { wall_time: 300ms, pids: 64 }\n');
      const file = join(scratch, `ev-wall-${n}.ndjson`);
      const r = run(['sh', '-c', 'sleep 30 & sleep 30'], ['--policy', policy, '--events', file]);
      expect(r.status).toBe(137);
      const evs = events(file);
      expect(evs).toContainEqual(expect.objectContaining({ type: 'limit_hit', limit: 'wall_time' }));
      expect(evs.at(-1)).toMatchObject({ type: 'exit', signal: 'SIGKILL', reason: 'wall_time' });
    });

    it('--json ends with a JSON summary on stderr (status, reason, enforcement)', () => {
      const r = run(['sh', '-c', 'exit 4'], ['--json']);
      expect(r.status).toBe(4);
      const last = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      expect(last).toMatchObject({ nemoclaw: 'sandbox ended', status: 4, reason: 'exited', code: 4, mismatches: [] });
      expect(last.enforcement).toMatchObject({ no_new_privs: true });
    });

    it('runs with a shipped blueprint', () => {
      const r = run(['sh', '-c', 'echo ok'], ['--blueprint', 'strict']);
      expect(r.stdout).toBe('ok\n');
      expect(r.status).toBe(0);
    });

    it('forwards SIGTERM to the sandbox: exit 143, and SIGKILL of nemoclaw leaves no workload behind', async () => {
      for (const [signal, expectStatus] of [['SIGTERM', 143], ['SIGKILL', null]] as const) {
        const file = join(scratch, `ev-sig-${signal}-${n}.ndjson`);
        const child = spawn(bin, ['sandbox', 'run', '--workspace', ws, '--events', file, '--', 'sleep', '30'], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: home },
          stdio: 'ignore',
        });
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        // Conditions, not windows (these were 5 s of 25 ms tries): waitFor only bounds a failure.
        const pid = await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('"ready"') && Number(events(file)[0]?.pid), 'the ready event');
        expect(pid).toBeGreaterThan(0);
        // Records are written while the sandbox runs, not only at its end.
        const id = String(events(file)[0]?.sandbox);
        await waitFor(() => auditEvents(id).some((e) => e.kind === 'sandbox.enforcement'), 'the sandbox.enforcement audit record while the sandbox runs');
        child.kill(signal);
        expect(await exited).toBe(expectStatus);
        const alive = (): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
        await waitFor(() => !alive(), `workload ${pid} to end after ${signal} of nemoclaw`);
      }
    });

    it('works for an ordinary user too (unprivileged user namespace)', (ctx) => {
      skipUnless(ctx, IS_ROOT, 'needs root: switches to uid 65534 with setpriv');
      chmodSync(scratch, 0o755); // mkdtemp made it 0700; the ordinary user must reach its workspace
      chownSync(ws, 65534, 65534);
      const nobodyHome = mkdtempSync(join(scratch, 'nobody-'));
      chownSync(nobodyHome, 65534, 65534);
      const file = join(nobodyHome, 'events.ndjson');
      const r = spawnSync(...asOrdinaryUser([bin, 'sandbox', 'run', '--workspace', ws, '--events', file, '--', 'sh', '-c', 'echo hi > mine'], 65534), {
        encoding: 'utf8',
        cwd: ws,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: nobodyHome, NEMOCLAW_HOME: join(nobodyHome, '.nemoclaw') },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(statSync(join(ws, 'mine')).uid).toBe(65534);
      expect(events(file)[0]).toMatchObject({ type: 'ready', enforcement: { namespaces: expect.arrayContaining(['user']) } });
    });

    it('appends lifecycle and enforcement to the audit log under NEMOCLAW_HOME', () => {
      const file = join(scratch, `ev-audit-${n}.ndjson`);
      expect(run(['cat', '/etc/shadow'], ['--events', file]).status).not.toBe(0);
      const records = auditEvents(String(events(file)[0]?.sandbox));
      expect(records.map((e) => `${e.kind}:${e.activity}`)).toEqual(['sandbox.lifecycle:start', 'sandbox.enforcement:report', 'sandbox.lifecycle:exit']);
    });
  });

  it('exits 125 with one line when the workspace does not exist', () => {
    const r = nemoclaw(['sandbox', 'run', '--workspace', join(scratch, 'missing'), '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/workspace: .*missing.*errno ENOENT/);
  });

  it('exits 125 naming file:line:col when the policy is invalid', () => {
    const policy = join(ws, 'bad.yaml');
    writeFileSync(policy, 'version: 1\nlandlock: { compat: hard }\n');
    const r = run(['true'], ['--policy', policy]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('bad.yaml:2:');
  });

  it('refuses an events file that is a symlink (planted in a workspace), leaving its target alone', () => {
    const victim = join(scratch, `victim-${n}`);
    writeFileSync(victim, 'keep\n');
    symlinkSync(victim, join(ws, 'events.ndjson'));
    const r = run(['true'], ['--events', join(ws, 'events.ndjson')]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/events file: .*errno ELOOP/);
    expect(readFileSync(victim, 'utf8')).toBe('keep\n');
  });

  it('refuses a workspace that contains the helper binary (the sandbox could replace it)', () => {
    const r = nemoclaw(['sandbox', 'run', '--workspace', root, '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/lies inside .*which the sandbox could write/);
    // A refused run writes nothing into the workspace (no protected-path placeholders).
    expect(existsSync(join(root, '.envrc'))).toBe(false);
  });

  it('exits 125 naming the step when the helper is missing', () => {
    const r = run(['true'], [], { NEMOCLAW_HELPER: join(scratch, 'no-helper') });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/helper not built/);
  });

  it('refuses (125, one line naming the mismatch) when a FAKE helper reports NoNewPrivs off', () => {
    const file = join(scratch, `ev-fake-${n}.ndjson`);
    const marker = join(ws, 'ran');
    const r = run(['touch', marker], ['--events', file], { NEMOCLAW_HELPER: fakeNnpOff });
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toEqual(['nemoclaw: sandbox refused: enforcement mismatch: no_new_privs: off']);
    expect(existsSync(marker)).toBe(false);
    const evs = events(file);
    expect(evs.map((e) => e.type)).toEqual(['ready', 'error', 'exit']);
    expect(evs.at(-1)).toMatchObject({ reason: 'refused' });
  });
});

describe('nemoclaw demo', () => {
  it('shows allowed and denied actions and the enforcement report, exit 0', () => {
    const r = nemoclaw(['demo']);
    expect(r.stdout).toContain('Every case behaved as expected.');
    expect(r.stdout).toMatch(/DENIED\s+read \/etc\/shadow/);
    // The only network target is a server the demo starts on the host's loopback.
    expect(r.stdout).toMatch(/DENIED\s+direct TCP connect to a server on the host's 127\.0\.0\.1:\d+/);
    expect(r.stdout).not.toMatch(/1\.1\.1\.1|8\.8\.8\.8/);
    expect(r.stdout).toMatch(/Landlock\s+ABI \d+/);
    expect(r.status).toBe(0);
  });
});

describe('nemoclaw doctor --json', () => {
  it('lists every check with name, status, detail, fix, required', () => {
    const r = nemoclaw(['doctor', '--json']);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: Array<Record<string, unknown>> };
    expect(typeof report.ok).toBe('boolean');
    expect(r.status).toBe(report.ok ? 0 : 1);
    const names = report.checks.map((c) => c.name);
    for (const want of ['kernel', 'landlock', 'seccomp', 'user namespaces', 'cgroups', 'libseccomp', 'helper', 'docker engine', 'gpu']) {
      expect(names).toContain(want);
    }
    for (const c of report.checks) {
      expect(Object.keys(c).sort()).toEqual(['detail', 'fix', 'name', 'required', 'status']);
      expect(['pass', 'warn', 'fail']).toContain(c.status);
      if (c.status !== 'pass') expect(String(c.fix).length).toBeGreaterThan(0);
    }
  });

  it('reports the Landlock ABI the sandboxes enforce, asked of the helper: no python3 needed', () => {
    expect(helperBuilt, `make -C native failed:\n${build.output}`).toBe(true);
    // PATH names an empty folder: no python3 (a fresh Debian 12 has none), nothing else either.
    const r = nemoclaw(['doctor', '--json'], { PATH: mkdtempSync(join(scratch, 'empty-path-')) });
    const landlock = (JSON.parse(r.stdout) as { checks: Array<{ name: string; detail: string }> }).checks.find((c) => c.name === 'landlock');
    // What a sandbox on this kernel reports it enforces (the helper's ready event).
    const ran = run(['true'], ['--json']);
    const ended = ran.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { enforcement?: { landlock?: { abi?: number } } })
      .find((l) => l.enforcement !== undefined);
    const abi = ended?.enforcement?.landlock?.abi;
    expect(abi, ran.stderr).toEqual(expect.any(Number));
    if ((abi as number) > 0) expect(landlock?.detail).toMatch(new RegExp(`^ABI ${abi}\\b`));
    else expect(landlock?.detail).toBe('Landlock not enabled in this kernel');
  });
});
