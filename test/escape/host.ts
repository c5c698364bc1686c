// Facts about this host that some expectations depend on, each found out by a real probe run
// directly on the host (no sandbox) in the same test run, and the pure decisions that turn such a
// fact into what a row or test must see. Never from uname or /proc/config.gz: a kernel built with
// CONFIG_IA32_EMULATION=y can still fault every int 0x80 with SIGSEGV (ia32_emulation=0 on its
// command line, or a hypervisor without a 32-bit syscall entry for its guests; one of our CI hosts
// does, for a reason its config does not show), and how fast a host is is only known by timing it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Expect, Mode } from './probes.ts';

const PROBE_SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'probes');

// ---------------------------------------------------------------------------------------------
// What a row needs of the host to have anything to escape to

/** A host resource some rows try to reach: without it there is nothing to escape to, sandbox or not. */
export type HostNeed = 'ipv6-loopback';

/**
 * Whether the host has it, read now: the IPv6 loopback address is configured on lo (Docker turns
 * IPv6 off in its containers by default, privileged ones included).
 */
export function hostHas(need: HostNeed): boolean {
  let has = hostNeedsSeen.get(need);
  if (has === undefined) hostNeedsSeen.set(need, (has = readHostHas(need)));
  return has;
}

/** Read once per run: the suite asks for every title and every check. */
const hostNeedsSeen = new Map<HostNeed, boolean>();

function readHostHas(need: HostNeed): boolean {
  if (need === 'ipv6-loopback') {
    try {
      const disabled = fs.readFileSync('/proc/sys/net/ipv6/conf/lo/disable_ipv6', 'utf8').trim() === '1';
      return !disabled && /^0{31}1 /m.test(fs.readFileSync('/proc/net/if_inet6', 'utf8'));
    } catch {
      return false; // no IPv6 in this kernel at all
    }
  }
  return true;
}

const NEED_LABEL: Record<HostNeed, string> = { 'ipv6-loopback': 'an IPv6 loopback (::1)' };

/** A row whose target the host lacks: refused everywhere, and the host run must show that. */
export function hostNeedRowExpect(need: HostNeed, present: boolean, mode: Mode, whenPresent: readonly Expect[]): Decision {
  if (present) return { expect: [...whenPresent], applicable: true, why: '' };
  return {
    expect: mode === 'unsandboxed' ? ['blocked'] : uniq([...whenPresent, 'blocked']),
    applicable: false,
    why: `not applicable on this host: it has no ${NEED_LABEL[need]}, so there is nothing to reach, sandbox or not`,
  };
}

// ---------------------------------------------------------------------------------------------
// Foreign syscall ABIs (int 0x80, x32)

export type ForeignAbi = 'int80' | 'x32';
/** How a probe run ended, in the suite's terms (no 'refused' or 'error': those are not host facts). */
export type HostOutcome = 'escaped' | 'blocked' | `killed:${number}`;

/** What this host does with getpid() through a foreign syscall entry, outside any sandbox. */
export interface ForeignAbiFact {
  abi: ForeignAbi;
  /** The call ran and returned the caller's pid. */
  runs: boolean;
  /** 'escaped' (it ran), 'blocked' (an errno, e.g. ENOSYS: no x32 ABI), 'killed:N' (signal N, e.g.
   * SIGSEGV where the kernel has no i386 entry at all). */
  outcome: HostOutcome;
  /** What the probe said, or how it died. */
  detail: string;
}

const LABEL: Record<ForeignAbi, string> = { int80: 'int 0x80 (i386) syscalls', x32: 'x32 syscalls' };

const signalNumber = (name: string): number => (os.constants.signals as Record<string, number>)[name] ?? 0;
const signalName = (n: number): string => Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;

/** Reads one run of `abi MODE` (probes/abi.c) made directly on the host; throws when the probe is
 * broken, since a broken probe decides nothing. */
export function readAbiRun(abi: ForeignAbi, r: { status: number | null; signal: string | null; stdout: string }): ForeignAbiFact {
  const line = r.stdout.split('\n').find((l) => /^(ESCAPED|BLOCKED|PROBE-ERROR): /.test(l)) ?? '';
  const code = r.status ?? (r.signal ? 128 + signalNumber(r.signal) : -1);
  if (code === 0 && line.startsWith('ESCAPED: ')) return { abi, runs: true, outcome: 'escaped', detail: line };
  if (code === 1 && line.startsWith('BLOCKED: ')) return { abi, runs: false, outcome: 'blocked', detail: line };
  if (code > 128 && code < 128 + 65 && !line) return { abi, runs: false, outcome: `killed:${code - 128}`, detail: `abi ${abi} was killed by ${signalName(code - 128)}` };
  throw new Error(`the host probe \`abi ${abi}\` is broken (exit ${r.status}, signal ${r.signal}): ${r.stdout.trim().slice(0, 500)}`);
}

/** Compiles probes/abi.c (static, -Werror) into dir; returns the binary. */
export function buildAbiProbe(dir: string): string {
  const bin = path.join(dir, 'abi');
  const r = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-static', '-o', bin, path.join(PROBE_SRC, 'abi.c')], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`abi.c did not build: ${r.stderr}${r.error?.message ?? ''}`);
  return bin;
}

/** Runs the built abi probe directly on the host (no sandbox) and reads the fact. */
export function probeForeignAbi(bin: string, abi: ForeignAbi): ForeignAbiFact {
  const r = spawnSync(bin, [abi], { encoding: 'utf8', timeout: 30_000 });
  return readAbiRun(abi, { status: r.status, signal: r.signal, stdout: r.stdout ?? '' });
}

/** Both foreign-ABI facts of this host, from one build of the probe (removed again). */
export function probeForeignAbis(): Record<ForeignAbi, ForeignAbiFact> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemoclaw-host-abi-'));
  try {
    const bin = buildAbiProbe(dir);
    return { int80: probeForeignAbi(bin, 'int80'), x32: probeForeignAbi(bin, 'x32') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface Decision {
  expect: Expect[];
  /** false: this host gives the row nothing to prove (it refuses the attempt itself). */
  applicable: boolean;
  /** The host fact behind the decision, for titles and failure messages. */
  why: string;
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

/**
 * What a foreign-ABI row of the escape suite must show in one mode. whenRuns is the row's
 * expectation on a host that runs the ABI: unsandboxed 'escaped' (the probe detects the escape),
 * sandboxed the sandbox's defences. On a host that refuses the ABI itself there is nothing to
 * prove: the row's own probe must then be refused the same way unsandboxed (never 'escaped', so a
 * wrong host fact fails the row), and sandboxed may be stopped by the host or by the sandbox, but
 * still never escape.
 */
export function foreignAbiRowExpect(fact: ForeignAbiFact, mode: Mode, whenRuns: readonly Expect[]): Decision {
  if (fact.runs) return { expect: [...whenRuns], applicable: true, why: `this host runs ${LABEL[fact.abi]}` };
  const refused: Expect[] = uniq(['blocked', fact.outcome as Expect]);
  return {
    expect: mode === 'unsandboxed' ? refused : uniq([...whenRuns, ...refused]),
    applicable: false,
    why: `not applicable on this host: it refuses ${LABEL[fact.abi]} without a sandbox (${fact.outcome})`,
  };
}

export interface SeccompAbiExpect {
  /** The helper's exit status. */
  code: number;
  /** The helper's exit event. */
  exit: { signal: string; reason: 'seccomp_kill' | 'signaled' };
  applicable: boolean;
  why: string;
}

/**
 * What the helper's seccomp filter makes of a foreign-ABI getpid(), given what the host does with
 * it. Wherever the call reaches a syscall entry (it runs, or the kernel answers ENOSYS as for x32
 * without CONFIG_X86_X32_ABI) seccomp sees it first and kills the workload with SIGSYS. A host
 * with no such entry kills the caller before any filter runs: the sandbox then has nothing to do,
 * and the workload dies with the host's own signal.
 */
export function foreignAbiUnderSeccomp(fact: ForeignAbiFact): SeccompAbiExpect {
  const m = /^killed:(\d+)$/.exec(fact.outcome);
  if (!m) return { code: 128 + 31, exit: { signal: 'SIGSYS', reason: 'seccomp_kill' }, applicable: true, why: `${LABEL[fact.abi]} reach this host's syscall entry (${fact.outcome})` };
  const sig = Number(m[1]);
  return {
    code: 128 + sig,
    exit: { signal: signalName(sig), reason: 'signaled' },
    applicable: false,
    why: `not applicable on this host: it kills ${LABEL[fact.abi]} with ${signalName(sig)} before any seccomp filter sees them`,
  };
}

// ---------------------------------------------------------------------------------------------
// Fork speed

/** How long this host took to hold n processes at once (`res forkbomb n`, unsandboxed), measured
 * in the same run just before a fork-bomb row. */
export interface ForkSample {
  n: number;
  ms: number;
}

/** The limit every run gets unless its work depends on the host's speed. */
export const DEFAULT_RUN_LIMIT_MS = 45_000;
/** The most any run may take: the suite must end on a host too slow to prove a row. */
export const MAX_RUN_LIMIT_MS = 300_000;
/** Headroom over the projection: the bomb's tail runs with thousands of live processes, and the
 * sample may have run in a quieter moment than the bomb. */
const FORK_HEADROOM = 10;

/**
 * The time limit of a run that forks `target` processes, scaled from the same host's sample: the
 * fork count bounds the work, and the limit follows how fast this host does that work, so that a
 * slower host is not reported as an error. Fast hosts keep the default limit.
 */
export function forkBombLimitMs(sample: ForkSample, target: number): { ms: number; why: string } {
  const projected = (Math.max(sample.ms, 1) * target) / Math.max(sample.n, 1);
  const ms = Math.min(MAX_RUN_LIMIT_MS, Math.max(DEFAULT_RUN_LIMIT_MS, Math.ceil(projected * FORK_HEADROOM)));
  return { ms, why: `this host held ${sample.n} processes in ${sample.ms} ms, so ${target} take about ${Math.round(projected)} ms: limit ${ms} ms` };
}

// ---------------------------------------------------------------------------------------------
// Time to an exec question

/** The wall time a fast host used for a sandbox whose exec question must reach the screen first. */
export const ASK_WALL_TIME_MIN_MS = 700;

/**
 * The wall time of a sandbox that must still be running when its first exec question reaches the
 * operator's terminal (test/sandbox/tty.test.ts), from how long that took on this host just
 * before, timed from the CLI's start (so it overstates the sandbox's share): 4x that, never below
 * what a fast host used, at most 20 s.
 */
export function askWallTimeMs(askedAfterMs: number): number {
  return Math.min(20_000, Math.max(ASK_WALL_TIME_MIN_MS, Math.ceil(askedAfterMs * 4)));
}
