// A plain-language summary of a policy: what it can read, write, execute, reach, and what will be
// asked. For reviewers and auditors who should not have to read YAML to know what they approve.
import { compileSandboxSpec } from './compile.ts';
import { ACCESS_METHODS } from './egress.ts';
import { endpointGrants } from './grants.ts';
import type { Policy } from './schema.ts';
import { LIMIT_DEFAULTS } from './types.ts';
import { parseDuration } from './units.ts';

export interface Explanation {
  sections: { title: string; lines: string[] }[];
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}

function ms(n: number): string {
  return n % 60_000 === 0 ? `${n / 60_000} min` : n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`;
}

export function explainPolicy(policy: Policy): Explanation {
  const spec = compileSandboxSpec(policy);
  const sections: Explanation['sections'] = [];
  const fsLines: string[] = [];
  fsLines.push(spec.filesystem.readOnly.length ? `Can read (not write): ${spec.filesystem.readOnly.join(', ')}` : 'Can read nothing outside its writable paths');
  const writes = [...(spec.filesystem.includeWorkdir ? ['the workspace'] : []), ...spec.filesystem.readWrite.map((p) => (p === '/tmp' || p === '/var/tmp' ? `${p} (private to the sandbox)` : p))];
  fsLines.push(writes.length ? `Can write: ${writes.join(', ')}` : 'Can write nothing');
  fsLines.push('Everything else on the host is invisible to it.');
  sections.push({ title: 'Files', lines: fsLines });

  const proc: string[] = [`Runs as user ${spec.runAsUser}, never root.`];
  proc.push(spec.landlock === 'hard_requirement' ? 'Landlock is required: the sandbox does not start without it.' : 'Landlock is best effort: on a kernel without it the sandbox starts DEGRADED.');
  if (spec.exec.allow.length === 0) proc.push('Can execute any program it can read.');
  else {
    proc.push(`Can execute: ${spec.exec.allow.join(', ')}`);
    proc.push(`Any other program is ${{ allow: 'allowed', ask: 'asked of the operator', deny: 'refused' }[spec.exec.unmatched]}.`);
  }
  const l = spec.limits;
  const lim = [
    l.memoryBytes !== undefined ? `memory ${bytes(l.memoryBytes)}` : null,
    l.cpuPercent !== undefined ? `CPU ${l.cpuPercent}% of one core` : null,
    l.pids !== undefined ? `${l.pids} processes` : null,
    l.nofile !== undefined ? `${l.nofile} open files` : null,
    l.fileSizeBytes !== undefined ? `files up to ${bytes(l.fileSizeBytes)}` : null,
    l.wallTimeMs ? `killed after ${ms(l.wallTimeMs)}` : null,
  ].filter((x): x is string => x !== null);
  proc.push(lim.length ? `Limits: ${lim.join(', ')}.` : 'No resource limits beyond the defaults.');
  // Always said, default or not: these bound what a sandbox can take of the host's memory and disk.
  proc.push(`Private /tmp, /var/tmp, /dev/shm (and a tmpfs HOME): ${bytes(l.tmpBytes ?? LIMIT_DEFAULTS.tmpBytes)} each, counted as memory.`);
  const logBytes = l.logBytes ?? LIMIT_DEFAULTS.logBytes;
  const logFiles = l.logFiles ?? LIMIT_DEFAULTS.logFiles;
  proc.push(`Output kept under a supervisor: ${bytes(logBytes)} in ${logFiles} rotating files; a flood beyond that is dropped with a marker.`);
  if (spec.syscalls.deny.length) proc.push(`System calls refused: ${spec.syscalls.deny.join(', ')}.`);
  if (spec.syscalls.log.length) proc.push(`System calls logged: ${spec.syscalls.log.join(', ')}.`);
  if (spec.loopback.bind.length) proc.push(`May listen on loopback ports: ${spec.loopback.bind.join(', ')}.`);
  sections.push({ title: 'Programs', lines: proc });

  const net: string[] = [];
  const blocked: string[] = [];
  let programs = false;
  for (const [name, np] of Object.entries(policy.network_policies ?? {})) {
    const who = np.binaries?.length ? ` (only ${np.binaries.map((b) => b.path).join(', ')})` : '';
    if (np.binaries?.length) programs = true;
    for (const e of np.endpoints) {
      const where = `${e.host ?? 'any host'}:${(e.ports ?? [e.port]).join(',')}`;
      if (np.action === 'deny') {
        blocked.push(`${where}${who} [${name}]`);
        continue;
      }
      let what: string;
      if (e.rules) what = e.rules.map((r) => `${(r.allow.method ?? '*').toUpperCase()} ${r.allow.path ?? '/**'}`).join('; ');
      else if (e.access && e.access !== 'full' && (e.protocol === 'rest' || e.protocol === 'websocket')) what = `${e.access}: ${[...(ACCESS_METHODS[e.access] ?? [])].join('/')}`;
      else what = 'any traffic';
      const deny = e.deny_rules?.length ? `; never ${e.deny_rules.map((d) => `${d.method ?? '*'} ${d.path ?? '/**'}`).join(', ')}` : '';
      const audit = e.enforcement === 'audit' ? ' — AUDIT ONLY: violations are logged and let through' : '';
      const grants = endpointGrants(e);
      const ips = e.allowed_ips?.length ? `; only at addresses ${e.allowed_ips.join(', ')} (private ones included)` : grants.length ? `; only at ${grants.join(', ')}` : '';
      net.push(`${where}: ${what}${deny}${who}${ips}${audit} [${name}]`);
    }
  }
  const reach = net.length ? ['Can reach:', ...net.map((n) => `  ${n}`)] : ['Can reach no network destination by rule.'];
  if (blocked.length) reach.push('Always blocked:', ...blocked.map((b) => `  ${b}`));
  if (programs) reach.push('Programs are matched on the one that connects, never on the program that started it.');
  if (net.length) reach.push('Never reachable, whatever the rules: cloud metadata services and 0.0.0.0; link-local only where allowed_ips names the address.');
  const unmatched = policy.approvals?.unmatched_egress ?? 'deny';
  const timeout = parseDuration(policy.approvals?.timeout ?? '60s') ?? 60_000;
  reach.push(
    unmatched === 'ask'
      ? `Anything else is asked of the operator; unanswered after ${ms(timeout)} it is denied.`
      : unmatched === 'audit'
        ? 'Anything else is LET THROUGH and logged (audit mode).'
        : 'Anything else is denied without asking.',
  );
  sections.push({ title: 'Network', lines: reach });
  return { sections };
}

export function renderExplanation(x: Explanation): string {
  return x.sections.map((s) => `${s.title}\n${s.lines.map((l) => `  ${l}`).join('\n')}`).join('\n\n') + '\n';
}
