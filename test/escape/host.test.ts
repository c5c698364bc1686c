// The decisions host-dependent rows and tests make, with both answers a host can give: every
// conditional expectation of the escape suite and the helper test goes through one of these.
import { describe, expect, it } from 'vitest';
import { ASK_WALL_TIME_MIN_MS, DEFAULT_RUN_LIMIT_MS, MAX_RUN_LIMIT_MS, askWallTimeMs, forkBombLimitMs, foreignAbiRowExpect, foreignAbiUnderSeccomp, readAbiRun, type ForeignAbiFact } from './host.ts';

const FOREIGN_ABI = ['blocked', 'killed:31'] as const;
const runs: ForeignAbiFact = { abi: 'int80', runs: true, outcome: 'escaped', detail: 'ESCAPED: int80 getpid() returned our pid 42' };
const faults: ForeignAbiFact = { abi: 'int80', runs: false, outcome: 'killed:11', detail: 'abi int80 was killed by SIGSEGV' };
const noX32: ForeignAbiFact = { abi: 'x32', runs: false, outcome: 'blocked', detail: 'BLOCKED: x32 getpid(): Function not implemented' };

describe('reading the foreign-ABI host probe', () => {
  it('a call that returned our pid: the host runs the ABI', () => {
    expect(readAbiRun('int80', { status: 0, signal: null, stdout: 'ESCAPED: int80 getpid() returned our pid 42\n' })).toMatchObject({ runs: true, outcome: 'escaped' });
  });

  it('SIGSEGV (no i386 entry, the CI host of issue 20) or ENOSYS (no x32 ABI): the host refuses it', () => {
    expect(readAbiRun('int80', { status: null, signal: 'SIGSEGV', stdout: '' })).toMatchObject({ runs: false, outcome: 'killed:11' });
    expect(readAbiRun('x32', { status: 1, signal: null, stdout: 'BLOCKED: x32 getpid(): Function not implemented\n' })).toMatchObject({ runs: false, outcome: 'blocked' });
  });

  it('a broken probe decides nothing: it throws instead of picking an answer', () => {
    expect(() => readAbiRun('int80', { status: 2, signal: null, stdout: 'PROBE-ERROR: unknown mode\n' })).toThrow(/broken/);
    expect(() => readAbiRun('int80', { status: 0, signal: null, stdout: '' })).toThrow(/broken/);
    expect(() => readAbiRun('int80', { status: 127, signal: null, stdout: '' })).toThrow(/broken/);
  });
});

describe('foreign-ABI rows of the escape suite (priv-int80-32bit-syscalls, priv-x32-syscalls)', () => {
  it('host runs the ABI: unsandboxed must escape, sandboxed must be stopped by the sandbox, escaping fails', () => {
    const u = foreignAbiRowExpect(runs, 'unsandboxed', ['escaped']);
    expect(u).toMatchObject({ expect: ['escaped'], applicable: true });
    const s = foreignAbiRowExpect(runs, 'sandboxed', FOREIGN_ABI);
    expect(s).toMatchObject({ expect: ['blocked', 'killed:31'], applicable: true });
    expect(s.expect).not.toContain('escaped');
    // The host's own fault is no sandbox defence where the host runs the ABI.
    expect(s.expect).not.toContain('killed:11');
  });

  it('host faults int 0x80: not applicable; the row probe must fault on the host too, and never escape in either mode', () => {
    const u = foreignAbiRowExpect(faults, 'unsandboxed', ['escaped']);
    expect(u.applicable).toBe(false);
    expect(u.expect).toEqual(['blocked', 'killed:11']);
    expect(u.why).toMatch(/not applicable on this host.*int 0x80.*killed:11/);
    const s = foreignAbiRowExpect(faults, 'sandboxed', FOREIGN_ABI);
    expect(s.applicable).toBe(false);
    expect(s.expect.sort()).toEqual(['blocked', 'killed:11', 'killed:31']);
    expect(s.expect).not.toContain('escaped');
  });

  it('host without x32: not applicable, refused with ENOSYS', () => {
    expect(foreignAbiRowExpect(noX32, 'unsandboxed', ['escaped'])).toMatchObject({ expect: ['blocked'], applicable: false });
    expect(foreignAbiRowExpect(noX32, 'sandboxed', FOREIGN_ABI)).toMatchObject({ expect: ['blocked', 'killed:31'], applicable: false });
  });
});

describe('foreign-ABI calls under the helper seccomp filter (helper.test.ts)', () => {
  it('host runs int 0x80: the filter kills with SIGSYS (exit 159, seccomp_kill)', () => {
    expect(foreignAbiUnderSeccomp(runs)).toMatchObject({ code: 159, exit: { signal: 'SIGSYS', reason: 'seccomp_kill' }, applicable: true });
  });

  it('host refuses x32 with ENOSYS: the call still reaches the syscall entry, so the filter still kills it', () => {
    expect(foreignAbiUnderSeccomp(noX32)).toMatchObject({ code: 159, exit: { signal: 'SIGSYS', reason: 'seccomp_kill' }, applicable: true });
  });

  it('host faults int 0x80: no filter ever sees it; the workload dies of the host fault (exit 139)', () => {
    expect(foreignAbiUnderSeccomp(faults)).toMatchObject({ code: 139, exit: { signal: 'SIGSEGV', reason: 'signaled' }, applicable: false });
  });
});

describe('fork bomb time limits (res-fork-bomb, res-fork-bomb-default-policy)', () => {
  it('fast host (this one: 500 processes in about 50 ms): the default limit', () => {
    expect(forkBombLimitMs({ n: 500, ms: 50 }, 5000).ms).toBe(DEFAULT_RUN_LIMIT_MS);
  });

  it('slow host: the limit grows with the measured fork time, never below the default', () => {
    const slow = forkBombLimitMs({ n: 500, ms: 2000 }, 5000);
    expect(slow.ms).toBe(200_000);
    expect(slow.why).toMatch(/500 processes in 2000 ms/);
    expect(forkBombLimitMs({ n: 500, ms: 2000 }, 2000).ms).toBe(80_000);
  });

  it('a host too slow to prove the row still ends: capped', () => {
    expect(forkBombLimitMs({ n: 500, ms: 60_000 }, 5000).ms).toBe(MAX_RUN_LIMIT_MS);
  });
});

describe('wall time of the unanswered-question test (test/sandbox/tty.test.ts)', () => {
  it('fast host (question on screen within 175 ms): the 700 ms a fast host always used', () => {
    expect(askWallTimeMs(120)).toBe(ASK_WALL_TIME_MIN_MS);
  });

  it('slow host: 4x the time the question took to reach the screen, at most 20 s', () => {
    expect(askWallTimeMs(600)).toBe(2400);
    expect(askWallTimeMs(60_000)).toBe(20_000);
  });
});
