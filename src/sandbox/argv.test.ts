import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../policy/index.ts';
import { SandboxConfigError, compileBinds, specToHelperArgv, workloadEnv } from './argv.ts';

function spec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    filesystem: { readOnly: ['/usr', '/lib'], readWrite: ['/tmp'], includeWorkdir: true },
    landlock: 'hard_requirement',
    runAsUser: 'sandbox',
    limits: {},
    exec: { allow: [], unmatched: 'allow' },
    syscalls: { deny: [], log: [] },
    loopback: { bind: [], connect: [] },
    ...over,
  };
}

const base = {
  workspace: '/home/op/project',
  eventsFd: 3,
  controlFd: 4,
  tty: false,
  env: { PATH: '/usr/bin' },
  sandboxId: 'sb-1',
  exists: () => true,
};

/** Values of a repeatable option, in order. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []));
}

describe('compileBinds', () => {
  const fs = (ro: string[], rw: string[]) => spec({ filesystem: { readOnly: ro, readWrite: rw, includeWorkdir: true } });

  it('dedupes, normalises and orders parents before children', () => {
    const { binds } = compileBinds(fs(['/usr/', '/usr', '/etc/ssl', '/a/b/../c'], ['/usr/local']), null, () => true);
    expect(binds).toEqual([
      { path: '/usr', mode: 'ro' },
      { path: '/a/c', mode: 'ro' },
      { path: '/etc/ssl', mode: 'ro' },
      { path: '/usr/local', mode: 'rw' },
    ]);
  });

  it('skips missing paths and says why', () => {
    const { binds, skipped } = compileBinds(fs(['/usr', '/nope'], []), null, (p) => p !== '/nope');
    expect(binds.map((b) => b.path)).toEqual(['/usr']);
    expect(skipped).toContainEqual({ path: '/nope', reason: 'missing' });
  });

  it('maps /tmp and /var/tmp to the private tmpfs without asking whether the host has them', () => {
    const { binds, skipped } = compileBinds(fs(['/var/tmp'], ['/tmp']), null, () => false);
    expect(binds).toEqual([{ path: '/tmp', mode: 'rw' }]);
    expect(skipped).toContainEqual({ path: '/var/tmp', reason: 'private_tmpfs' });
  });

  it('does not treat a host path under /tmp as covered by the private tmpfs', () => {
    const { binds } = compileBinds(fs([], ['/tmp', '/tmp/cache']), null, () => true);
    expect(binds).toEqual([
      { path: '/tmp', mode: 'rw' },
      { path: '/tmp/cache', mode: 'rw' },
    ]);
  });

  it('read-write wins over read-only for the same path', () => {
    const { binds } = compileBinds(fs(['/srv'], ['/srv']), null, () => true);
    expect(binds).toEqual([{ path: '/srv', mode: 'rw' }]);
  });

  it('drops children that the parent already grants in the same mode, keeps a stricter child', () => {
    const { binds, skipped } = compileBinds(fs(['/usr/lib', '/srv/data/ro'], ['/srv/data', '/srv/data/more', '/usr']), null, () => true);
    expect(binds).toEqual([
      { path: '/usr', mode: 'rw' },
      { path: '/srv/data', mode: 'rw' },
      { path: '/usr/lib', mode: 'ro' },
      { path: '/srv/data/ro', mode: 'ro' },
    ]);
    expect(skipped).toContainEqual({ path: '/srv/data/more', reason: 'covered' });
  });

  it('leaves the workspace itself to --workspace and rejects relative paths', () => {
    const { binds, skipped } = compileBinds(fs(['relative/x', '/home/op/project'], []), '/home/op/project/', () => true);
    expect(binds).toEqual([]);
    expect(skipped).toEqual([
      { path: 'relative/x', reason: 'not_absolute' },
      { path: '/home/op/project', reason: 'workspace' },
    ]);
  });

  it('keeps a protected path inside the workspace (read-only over the read-write workspace)', () => {
    const { binds } = compileBinds(fs(['/home/op/project/.git'], []), '/home/op/project', () => true);
    expect(binds).toEqual([{ path: '/home/op/project/.git', mode: 'ro' }]);
  });
});

describe('specToHelperArgv', () => {
  it('compiles the default shape', () => {
    expect(specToHelperArgv(spec(), base)).toEqual([
      '--sandbox-id', 'sb-1',
      '--landlock', 'hard',
      '--workspace', '/home/op/project',
      '--ro', '/lib',
      '--rw', '/tmp',
      '--ro', '/usr',
      '--tmp-size', String(512 * 1024 * 1024),
      '--events-fd', '3',
      '--control-fd', '4',
      '--await-verdict',
      '--env', 'PATH=/usr/bin',
    ]);
  });

  it('maps best_effort, ids, home, proxy, tty', () => {
    const argv = specToHelperArgv(spec({ landlock: 'best_effort' }), { ...base, uid: 1500, gid: 1600, home: '/h', proxySocket: '/run/p.sock', tty: true });
    expect(values(argv, '--landlock')).toEqual(['best-effort']);
    expect(values(argv, '--uid')).toEqual(['1500']);
    expect(values(argv, '--gid')).toEqual(['1600']);
    expect(values(argv, '--home')).toEqual(['/h']);
    expect(values(argv, '--proxy-socket')).toEqual(['/run/p.sock']);
    expect(argv).toContain('--tty');
  });

  it('never asks for uid or gid 0', () => {
    expect(() => specToHelperArgv(spec(), { ...base, uid: 0 })).toThrow(SandboxConfigError);
    expect(() => specToHelperArgv(spec(), { ...base, gid: 0 })).toThrow(SandboxConfigError);
    expect(() => specToHelperArgv(spec(), { ...base, uid: -5 })).toThrow(SandboxConfigError);
  });

  it('omits the workspace when the policy excludes the workdir', () => {
    const argv = specToHelperArgv(spec({ filesystem: { readOnly: ['/usr'], readWrite: [], includeWorkdir: false } }), base);
    expect(argv).not.toContain('--workspace');
  });

  it('requires an absolute workspace', () => {
    expect(() => specToHelperArgv(spec(), { ...base, workspace: 'rel' })).toThrow(/absolute/);
  });

  it('always passes the private tmpfs size: the policy\'s, else 512 MiB (issue 19)', () => {
    expect(values(specToHelperArgv(spec(), base), '--tmp-size')).toEqual([String(512 * 1024 * 1024)]);
    expect(values(specToHelperArgv(spec({ limits: { tmpBytes: 4 * 1024 * 1024 } }), base), '--tmp-size')).toEqual([String(4 * 1024 * 1024)]);
  });

  it('passes limits, skipping zero and absent ones', () => {
    const argv = specToHelperArgv(spec({ limits: { memoryBytes: 2 ** 31, pids: 512, nofile: 4096, fileSizeBytes: 1024, wallTimeMs: 0, cpuPercent: 50 } }), base);
    expect(values(argv, '--memory')).toEqual([String(2 ** 31)]);
    expect(values(argv, '--pids')).toEqual(['512']);
    expect(values(argv, '--nproc')).toEqual(['514']); // the same bound as RLIMIT_NPROC (no cgroup needed), just above the cgroup's
    expect(values(argv, '--nofile')).toEqual(['4096']);
    expect(values(argv, '--fsize')).toEqual(['1024']);
    expect(values(argv, '--cpu')).toEqual(['50']);
    expect(argv).not.toContain('--wall-time');
    expect(values(specToHelperArgv(spec({ limits: { wallTimeMs: 1500 } }), base), '--wall-time')).toEqual(['1500']);
    expect(() => specToHelperArgv(spec({ limits: { pids: -1 } }), base)).toThrow(SandboxConfigError);
  });

  it('passes protected paths once each, absolute only', () => {
    const argv = specToHelperArgv(spec(), { ...base, protect: ['/w/.git/hooks', '/w/.git/hooks', '/w/.envrc/'] });
    expect(values(argv, '--protect')).toEqual(['/w/.git/hooks', '/w/.envrc']);
    expect(() => specToHelperArgv(spec(), { ...base, protect: ['.git'] })).toThrow(SandboxConfigError);
  });

  it('passes the exec gate only when there is an allowlist', () => {
    expect(specToHelperArgv(spec({ exec: { allow: [], unmatched: 'ask' } }), base)).not.toContain('--exec-unmatched');
    const argv = specToHelperArgv(spec({ exec: { allow: ['/usr/bin/*', '/usr/bin/*', '/opt/**'], unmatched: 'deny' } }), base);
    expect(values(argv, '--exec-allow')).toEqual(['/usr/bin/*', '/opt/**']);
    expect(values(argv, '--exec-unmatched')).toEqual(['deny']);
  });

  it('passes syscall denies/logs and loopback ports, deduplicated', () => {
    const argv = specToHelperArgv(
      spec({ syscalls: { deny: ['chmod', 'chmod'], log: ['connect'] }, loopback: { bind: [18789, 8080, 8080], connect: [18789] } }),
      base,
    );
    expect(values(argv, '--deny-syscall')).toEqual(['chmod']);
    expect(values(argv, '--log-syscall')).toEqual(['connect']);
    expect(values(argv, '--tcp-bind')).toEqual(['8080', '18789']);
    expect(values(argv, '--tcp-connect')).toEqual(['18789']);
    expect(() => specToHelperArgv(spec({ loopback: { bind: [70000], connect: [] } }), base)).toThrow(/port/);
  });

  it('rejects environment entries that would smuggle a second assignment', () => {
    expect(() => specToHelperArgv(spec(), { ...base, env: { 'A=B': 'c' } })).toThrow(SandboxConfigError);
    expect(() => specToHelperArgv(spec(), { ...base, env: { A: 'x\0y' } })).toThrow(SandboxConfigError);
  });
});

describe('workloadEnv', () => {
  it('is built from scratch with the proxy pointed at the sandbox listener', () => {
    const env = workloadEnv({ TERM: 'xterm-256color', LANG: 'en_US.UTF-8' });
    expect(env.HOME).toBe('/home/sandbox');
    expect(env.TERM).toBe('xterm-256color');
    expect(env.LANG).toBe('en_US.UTF-8');
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) {
      expect(env[k]).toBe('http://127.0.0.1:3128');
    }
    expect(env.NODE_USE_ENV_PROXY).toBe('1');
    expect(env.PATH).toMatch(/^\/usr\/local\/sbin:/);
  });

  it('carries nothing else from the caller, and drops odd TERM/LANG values', () => {
    const caller = { TERM: 'x\x1b]0;evil\x07', LANG: undefined, OPENAI_API_KEY: 'sk-secret', AWS_SECRET_ACCESS_KEY: 'k' };
    const env = workloadEnv(caller);
    expect(JSON.stringify(env)).not.toContain('secret');
    expect(env.TERM).toBe('dumb');
    expect(env.LANG).toBe('C.UTF-8');
    expect(Object.keys(env)).not.toContain('OPENAI_API_KEY');
  });

  it('adds the supervisor extras last', () => {
    expect(workloadEnv({}, { OPENAI_BASE_URL: 'http://inference.local/v1' }).OPENAI_BASE_URL).toBe('http://inference.local/v1');
  });
});
