// `nemoclaw demo` (what `npm run demo` runs): real sandboxes in a temporary workspace, showing
// actions the default policy allows and actions it denies, then the enforcement report the
// helper sent before exec. Exits 0 when every case behaved as expected, 1 otherwise, 125 when
// no sandbox could start.
import type { Command } from 'commander';
import { chownSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadyEvent, SandboxEvent, SandboxResult } from '../sandbox/index.ts';
import { ROOT_MODE_HOST_ID, SANDBOX_FAILED, defaultSandboxSpec, helperPath, runSandbox } from '../sandbox/index.ts';
import { exitCodes } from './output.ts';
import { inert } from '../text/index.ts';
import { shellWords } from '../state/index.ts';

interface DemoCase {
  expect: 'allowed' | 'denied';
  what: string;
  command: string[];
  /** Shorter text shown instead of the command line. */
  show?: string;
  /** Host-side proof, checked after the run (e.g. the file exists and belongs to the workspace owner). */
  hostCheck?: (workspace: string) => string | null;
}

/**
 * The demo's network target: a TCP server on the host's own loopback. Only loopback is ever a
 * network target here (a demo must not knock on other people's hosts); the sandbox cannot reach
 * it all the same, because it has its own network namespace and Landlock allows no such port.
 * `connections` counts what reached it: anything but 0 means the denial was not real.
 */
interface HostTarget {
  port: number;
  connections: number;
  server: Server;
}

async function startHostTarget(): Promise<HostTarget> {
  const t: HostTarget = { port: 0, connections: 0, server: createServer() };
  t.server.on('connection', (sock) => {
    t.connections++;
    sock.on('error', () => undefined).end('nemoclaw demo host server\n');
  });
  await new Promise<void>((resolve, reject) => {
    t.server.once('error', reject);
    t.server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = t.server.address();
  t.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return t;
}

const cases = (target: HostTarget): readonly DemoCase[] => [
  {
    expect: 'allowed',
    what: 'write a file in the workspace',
    command: ['sh', '-c', 'echo "written inside the sandbox" > note.txt && cat note.txt'],
    hostCheck: (ws) => {
      const f = statSync(join(ws, 'note.txt'), { throwIfNoEntry: false });
      const owner = statSync(ws).uid;
      if (!f) return 'note.txt missing on the host';
      return f.uid === owner ? null : `note.txt belongs to uid ${f.uid}, workspace owner is ${owner}`;
    },
  },
  { expect: 'allowed', what: 'list /usr (read-only system path)', command: ['sh', '-c', 'ls /usr | head -4 | tr "\\n" " "'] },
  { expect: 'allowed', what: 'run as an unprivileged user', command: ['id', '-u'] },
  { expect: 'denied', what: 'read /etc/shadow', command: ['cat', '/etc/shadow'] },
  { expect: 'denied', what: "list /root (the host's home)", command: ['ls', '/root'] },
  { expect: 'denied', what: 'write outside the workspace (/usr)', command: ['touch', '/usr/nemoclaw-demo'] },
  {
    expect: 'denied',
    what: `direct TCP connect to a server on the host's 127.0.0.1:${target.port}, ignoring the proxy`,
    command: ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${target.port}`],
    hostCheck: () => (target.connections > 0 ? `the host server saw ${target.connections} connection(s)` : null),
  },
  { expect: 'denied', what: 'create a user namespace (privilege games)', command: ['unshare', '--user', 'true'] },
  {
    expect: 'denied',
    what: 'ptrace another process (pid 1 of the sandbox)',
    show: 'python3: ptrace(PTRACE_ATTACH, 1)',
    command: ['python3', '-c', 'import ctypes,os,sys; l=ctypes.CDLL(None,use_errno=True); r=l.ptrace(16,1,0,0); sys.exit("ptrace(PTRACE_ATTACH, 1): " + os.strerror(ctypes.get_errno())) if r else None'],
  },
];

/** How each kind of denial event is shown next to a case. */
const DENIAL_TEXT: Partial<Record<SandboxEvent['type'], (e: SandboxEvent) => string>> = {
  syscall_denied: (e) => (e.type === 'syscall_denied' ? `seccomp denied ${e.syscall}` : ''),
  exec_denied: (e) => (e.type === 'exec_denied' ? `exec denied: ${e.reason}` : ''),
  egress_direct: (e) => (e.type === 'egress_direct' ? `direct connect to ${e.addr}:${e.port} seen and refused` : ''),
};

interface Outcome {
  result: SandboxResult;
  stdout: string;
  stderr: string;
  events: SandboxEvent[];
}

async function runCase(c: DemoCase, workspace: string): Promise<Outcome> {
  const events: SandboxEvent[] = [];
  const sb = runSandbox({ spec: defaultSandboxSpec(), command: c.command, workspace, stdio: 'pipe', onEvent: (e) => events.push(e) });
  let stdout = '';
  let stderr = '';
  sb.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  sb.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const result = await sb.result;
  return { result, stdout, stderr, events };
}

/** The first line of a sandbox's output, as one inert line: it is quoted in the demo's report. */
function firstLine(s: string): string {
  const line = s.trim().split('\n')[0] ?? '';
  return inert(line.length > 90 ? `${line.slice(0, 90)}...` : line);
}

/** `hide`: skipped paths not worth showing (the demo's absent protected workspace paths). */
export function enforcementLines(r: ReadyEvent, hide: (path: string) => boolean = () => false): string[] {
  const skipped = r.skipped.filter((p) => !hide(p));
  const e = r.enforcement;
  const cg = e.cgroup ? `v${e.cgroup.version} ${e.cgroup.path} (${e.cgroup.controllers.join(', ') || 'no controllers'})` : 'none (the process limit holds as RLIMIT_NPROC)';
  return [
    `Landlock      ABI ${e.landlock.abi}, fs rights handled ${e.landlock.fs_rights_handled}, TCP rules ${e.landlock.net ? 'on' : 'off'}, scoped: ${e.landlock.scoped.join(', ') || 'none'}`,
    `seccomp       ${e.seccomp.mode}, ${e.seccomp.filters} filter(s), user notification ${e.seccomp.notify ? 'on' : 'off'}`,
    `NoNewPrivs    ${e.no_new_privs ? 'on' : 'OFF'}`,
    `capabilities  eff=${e.cap_eff} prm=${e.cap_prm} bnd=${e.cap_bnd} amb=${e.cap_amb}`,
    `namespaces    ${e.namespaces.join(', ')}`,
    `cgroup        ${cg}`,
    `workload      uid ${e.uid}, gid ${e.gid}`,
    ...(skipped.length > 0 ? [`not present    ${skipped.join(', ')} (skipped)`] : []),
    ...r.degraded.map((d) => `DEGRADED      ${d}`),
  ];
}

export async function demo(): Promise<number> {
  try {
    helperPath();
  } catch (err) {
    process.stderr.write(`nemoclaw demo: ${(err as Error).message}\n`);
    return SANDBOX_FAILED;
  }
  const workspace = mkdtempSync(join(tmpdir(), 'nemoclaw-demo-'));
  // As root, the workload's own host id owns it: no idmapped mount is needed, so the demo also
  // runs where /tmp cannot take one (overlayfs in a container: issue 13).
  if (process.getuid?.() === 0) chownSync(workspace, ROOT_MODE_HOST_ID, ROOT_MODE_HOST_ID);
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  out(`nemoclaw demo: each line below is a fresh sandbox (default policy), workspace ${workspace}\n`);
  let ready: ReadyEvent | null = null;
  let failures = 0;
  let started = 0;
  const target = await startHostTarget();
  try {
    for (const c of cases(target)) {
      const o = await runCase(c, workspace);
      if (o.result.ready) ready ??= o.result.ready;
      if (o.result.status === SANDBOX_FAILED && o.result.ready === null) {
        out(`  ERROR    ${c.what}: sandbox did not start: ${o.result.failure ?? firstLine(o.stderr)}`);
        failures++;
        continue;
      }
      started++;
      if (o.result.status === 127) {
        // Not a denial: the tool is not installed on this host (e.g. python3).
        out(`  skipped  ${c.what}: ${c.command[0]} is not installed`);
        continue;
      }
      const ok = o.result.status === 0;
      // Allowed cases prove their effect on the host; denied ones prove nothing got through.
      const hostProblem = c.hostCheck && (ok || c.expect === 'denied') ? c.hostCheck(workspace) : null;
      const asExpected = (c.expect === 'allowed') === ok && hostProblem === null;
      if (!asExpected) failures++;
      const denials = o.events.flatMap((e) => {
        const seen = DENIAL_TEXT[e.type];
        return seen ? [seen(e)] : [];
      });
      const said = firstLine(c.expect === 'allowed' ? o.stdout : o.stderr || o.stdout);
      const mark = asExpected ? (c.expect === 'allowed' ? 'allowed' : 'DENIED ') : 'UNEXPECTED';
      out(`  ${mark}  ${c.what}`);
      out(`           $ ${c.show ?? shellWords(c.command)}  -> exit ${o.result.status}${said ? `: ${said}` : ''}${denials.length ? `  [${[...new Set(denials)].join(', ')}]` : ''}${hostProblem ? `  (${hostProblem})` : ''}`);
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true });
    target.server.close();
  }
  if (ready !== null) {
    out('\nWhat the helper reported before exec (and nemoclaw verified against the policy):');
    for (const l of enforcementLines(ready, (p) => p.startsWith(`${workspace}/`))) out(`  ${l}`);
  }
  out(failures === 0 ? '\nEvery case behaved as expected.' : `\n${failures} case(s) did not behave as expected.`);
  if (started === 0) return SANDBOX_FAILED;
  return failures === 0 ? exitCodes.ok : exitCodes.failure;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('show allowed and denied actions in real sandboxes, then what was enforced')
    .action(async () => {
      process.exitCode = await demo();
    });
}
