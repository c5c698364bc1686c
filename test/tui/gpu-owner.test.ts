// The GPU owner join (src/telemetry/owner.ts), pure: container ids from /proc/PID/cgroup texts as
// the engines write them, and the owner decision from a pid's facts. The join against a real
// container and a real sandbox is in test/models/models-tui.test.ts.
import { describe, expect, it } from 'vitest';
import { containerIdFromCgroup, gpuOwner, ownerLabel, type OwnerIndex } from '../../src/telemetry/index.ts';

const ID = '3f2a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd';
const OTHER = 'aa'.repeat(32);

describe('containerIdFromCgroup', () => {
  const cases: [string, string, string | null][] = [
    ['cgroup v1, cgroupfs driver', `12:pids:/docker/${ID}\n4:memory:/docker/${ID}\n0::/`, ID],
    ['cgroup v1 under a parent cgroup (dockerd run inside a container)', `4:memory:/process_api/35afe0ff/docker/${ID}\n1:cpu:/docker/${ID}`, ID],
    ['cgroup v2, systemd driver', `0::/system.slice/docker-${ID}.scope`, ID],
    ['cgroup v2, cgroupfs driver', `0::/docker/${ID}`, ID],
    ['containerd (Kubernetes)', `0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-${ID}.scope`, ID],
    ['podman', `0::/machine.slice/libpod-${ID}.scope`, ID],
    ['a nested container: the innermost id', `0::/docker/${OTHER}/docker/${ID}`, ID],
    ['host process', '0::/user.slice/user-1000.slice/session-2.scope', null],
    ['a sandbox leaf', '4:memory:/nemoclaw-4242\n0::/', null],
    ['63 hex digits are not an id', `0::/docker/${ID.slice(1)}`, null],
    ['empty', '', null],
  ];
  for (const [what, text, want] of cases) it(what, () => expect(containerIdFromCgroup(text)).toBe(want));
});

describe('gpuOwner', () => {
  const index: OwnerIndex = {
    models: [{ name: 'vllm-a', containerId: ID.slice(0, 12) }],
    sandboxes: [
      { name: 'agent', pidNs: 'pid:[4026532201]' },
      { name: 'flat', pidNs: 'pid:[4026531836]' }, // reported in the host's namespace: marks nothing
      { name: 'gone', pidNs: null },
    ],
    hostPidNs: 'pid:[4026531836]',
  };
  const cases: [string, { cgroup: string | null; pidNs: string | null }, ReturnType<typeof gpuOwner>, string][] = [
    ['our model container (short id prefix)', { cgroup: `0::/docker/${ID}`, pidNs: 'pid:[4026532999]' }, { kind: 'model', name: 'vllm-a' }, 'model vllm-a'],
    ['another container', { cgroup: `0::/docker/${OTHER}`, pidNs: 'pid:[4026532998]' }, { kind: 'container', id: OTHER.slice(0, 12) }, `container ${OTHER.slice(0, 12)}`],
    ['a sandbox, by its workload pid namespace', { cgroup: '0::/', pidNs: 'pid:[4026532201]' }, { kind: 'sandbox', name: 'agent' }, 'sandbox agent'],
    ['the host namespace is never a sandbox', { cgroup: '0::/user.slice', pidNs: 'pid:[4026531836]' }, { kind: 'host' }, 'host'],
    ['an unknown namespace is the host', { cgroup: '0::/', pidNs: 'pid:[4026539999]' }, { kind: 'host' }, 'host'],
    ['nothing readable (gone, or another pid namespace)', { cgroup: null, pidNs: null }, { kind: 'unknown' }, '?'],
    ['a container wins over a namespace', { cgroup: `0::/docker/${ID}`, pidNs: 'pid:[4026532201]' }, { kind: 'model', name: 'vllm-a' }, 'model vllm-a'],
  ];
  for (const [what, facts, want, label] of cases) {
    it(what, () => {
      const o = gpuOwner({ pid: 1, ...facts }, index);
      expect(o).toEqual(want);
      expect(ownerLabel(o)).toBe(label);
    });
  }
  it('nemoclaw inside a container (no cgroup namespace): its own container is the host, a nested one is still a container', () => {
    const inside = { ...index, ownContainerId: OTHER };
    // A sandbox of ours: cgroup under our own container, its own pid namespace.
    expect(gpuOwner({ pid: 1, cgroup: `9:pids:/docker/${OTHER}\n0::/docker/${OTHER}`, pidNs: 'pid:[4026532201]' }, inside)).toEqual({ kind: 'sandbox', name: 'agent' });
    expect(gpuOwner({ pid: 1, cgroup: `0::/docker/${OTHER}`, pidNs: 'pid:[4026531836]' }, inside)).toEqual({ kind: 'host' });
    // A model started by a dockerd inside our container: the innermost id decides.
    expect(gpuOwner({ pid: 1, cgroup: `0::/docker/${OTHER}/docker/${ID}`, pidNs: 'pid:[4026532999]' }, inside)).toEqual({ kind: 'model', name: 'vllm-a' });
  });
  it('a model id shorter than 12 characters matches nothing (no accidental prefix)', () => {
    expect(gpuOwner({ pid: 1, cgroup: `0::/docker/${ID}`, pidNs: null }, { ...index, models: [{ name: 'x', containerId: '3f' }] })).toEqual({ kind: 'container', id: ID.slice(0, 12) });
  });
});
