// Who owns a GPU process (docs/tui.md, "Models pane"): a model container nemoclaw started, another
// container, a sandbox, or the host. nvidia-smi names pids only; the owner comes from the pid's
// /proc entries: its cgroup path carries the container id (the engine names the cgroup after it:
// `/docker/<id>`, `docker-<id>.scope`, ...), and a sandbox is the pid namespace its workload runs
// in (every sandbox gets its own, docs/sandbox.md; the helper makes a cgroup leaf only when limits
// are set, so the namespace is the mark every sandbox has). The join is pure; reading /proc is the
// edge below it.
import { readFileSync, readlinkSync } from 'node:fs';
import type { GpuOwner, GpuProcess } from './types.ts';

/** What /proc says about one pid; null where it could not be read (gone, or not ours to read). */
export interface ProcFacts {
  pid: number;
  /** /proc/PID/cgroup as text. */
  cgroup: string | null;
  /** readlink /proc/PID/ns/pid, e.g. `pid:[4026532201]`. */
  pidNs: string | null;
}

export interface OwnerIndex {
  /** Our model containers: the id may be the 12-character short form. */
  models: readonly { name: string; containerId: string }[];
  /** Sandboxes by the pid namespace of their workload. */
  sandboxes: readonly { name: string; pidNs: string | null }[];
  /** Our own pid namespace: a sandbox reported in it (no pid namespace of its own) marks nothing. */
  hostPidNs: string | null;
  /**
   * The container nemoclaw itself runs in, if any (Docker without a cgroup namespace shows it in
   * every process's cgroup): a process in it is on our host, not in "another container".
   */
  ownContainerId?: string | null;
}

// Path segments the engines give a container's cgroup (cgroupfs and systemd drivers, v1 and v2).
const CONTAINER_SEGMENTS: readonly RegExp[] = [/^([0-9a-f]{64})$/, /^docker-([0-9a-f]{64})\.scope$/, /^(?:cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope$/];

/**
 * The container id in a /proc/PID/cgroup text (`4:memory:/docker/3f2a…`, `0::/system.slice/docker-3f2a….scope`),
 * or null when the process is in no container's cgroup.
 */
export function containerIdFromCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    // The innermost segment that names a container wins (a container inside a container's cgroup).
    const segs = path.split('/').reverse();
    for (const seg of segs) {
      for (const re of CONTAINER_SEGMENTS) {
        const m = re.exec(seg);
        if (m) return m[1]!;
      }
    }
  }
  return null;
}

/** The owner of one GPU process, from its /proc facts: model, other container, sandbox, host. */
export function gpuOwner(f: ProcFacts, index: OwnerIndex): GpuOwner {
  if (f.cgroup === null && f.pidNs === null) return { kind: 'unknown' };
  const id = f.cgroup !== null ? containerIdFromCgroup(f.cgroup) : null;
  if (id !== null && id !== index.ownContainerId) {
    const m = index.models.find((x) => x.containerId.length >= 12 && id.startsWith(x.containerId));
    return m !== undefined ? { kind: 'model', name: m.name } : { kind: 'container', id: id.slice(0, 12) };
  }
  if (f.pidNs !== null && f.pidNs !== index.hostPidNs) {
    const s = index.sandboxes.find((x) => x.pidNs !== null && x.pidNs === f.pidNs);
    if (s !== undefined) return { kind: 'sandbox', name: s.name };
  }
  return { kind: 'host' };
}

function readOr<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** The I/O edge: /proc/PID/cgroup and the pid namespace link. Tiny reads of procfs, no blocking on disks. */
export function readProcFacts(pid: number, proc = '/proc'): ProcFacts {
  return {
    pid,
    cgroup: readOr(() => readFileSync(`${proc}/${pid}/cgroup`, 'utf8')),
    pidNs: readOr(() => readlinkSync(`${proc}/${pid}/ns/pid`)),
  };
}

export interface OwnerSources {
  models: readonly { name: string; containerId: string }[];
  /** Sandboxes and their workload pids as seen from the host (the supervisor reports them). */
  sandboxes: readonly { name: string; pid?: number | undefined }[];
  proc?: string;
}

/** Our own pid namespace and container, per /proc root: read once, they do not change while we run. */
const selfFacts = new Map<string, Pick<OwnerIndex, 'hostPidNs' | 'ownContainerId'>>();

function ownFacts(proc: string): Pick<OwnerIndex, 'hostPidNs' | 'ownContainerId'> {
  let f = selfFacts.get(proc);
  if (f === undefined) {
    f = {
      hostPidNs: readOr(() => readlinkSync(`${proc}/self/ns/pid`)),
      ownContainerId: containerIdFromCgroup(readOr(() => readFileSync(`${proc}/self/cgroup`, 'utf8')) ?? ''),
    };
    selfFacts.set(proc, f);
  }
  return f;
}

/** GPU processes with their owners, reading /proc for each GPU pid and each sandbox's workload pid. */
export function withOwners(processes: readonly GpuProcess[], src: OwnerSources): GpuProcess[] {
  const proc = src.proc ?? '/proc';
  const index: OwnerIndex = {
    models: src.models,
    sandboxes: src.sandboxes.filter((s) => s.pid !== undefined && s.pid > 0).map((s) => ({ name: s.name, pidNs: readProcFacts(s.pid!, proc).pidNs })),
    ...ownFacts(proc),
  };
  return processes.map((p) => ({ ...p, owner: gpuOwner(readProcFacts(p.pid, proc), index) }));
}

/** One short word or two for the GPU pane's owner column. */
export function ownerLabel(o: GpuOwner | undefined): string {
  if (o === undefined) return '';
  switch (o.kind) {
    case 'model':
      return `model ${o.name}`;
    case 'container':
      return `container ${o.id}`;
    case 'sandbox':
      return `sandbox ${o.name}`;
    case 'host':
      return 'host';
    default:
      return '?';
  }
}
