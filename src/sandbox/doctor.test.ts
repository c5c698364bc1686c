import { describe, expect, it } from 'vitest';
import { cgroupVerdict, diskVerdict, kernelVerdict, landlockVerdict, procMasks, procVerdict, seccompVerdict, userNsVerdict, workspaceFsVerdict } from './doctor.ts';

describe('doctor verdicts', () => {
  it('proc: the masks a container runtime puts over /proc fail the row; binfmt_misc does not count', () => {
    const docker = [
      '600 590 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
      '601 600 0:60 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw',
      '606 600 0:63 / /proc/acpi ro,relatime - tmpfs tmpfs ro',
      '607 600 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw',
      '608 600 0:5 /null /proc/keys rw,nosuid - devtmpfs udev rw',
      '612 590 0:64 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
    ].join('\n');
    expect(procMasks(docker)).toEqual(['/proc/bus', '/proc/acpi', '/proc/kcore', '/proc/keys']);
    const host = '30 25 0:28 / /proc rw,nosuid - proc proc rw\n41 30 0:36 / /proc/sys/fs/binfmt_misc rw,relatime - autofs systemd-1 rw\n';
    expect(procMasks(host)).toEqual([]);
    expect(procVerdict([])).toMatchObject({ status: 'pass' });
    const v = procVerdict(procMasks(docker));
    expect(v.status).toBe('fail');
    expect(v.detail).toBe("/proc/bus, /proc/acpi, /proc/kcore, /proc/keys masked over /proc (a container's default): the kernel refuses a sandbox a /proc of its own");
    expect(v.fix).toContain('--security-opt systempaths=unconfined');
    expect(procVerdict(null).status).toBe('warn');
  });

  it('the workspace filesystem: overlayfs owned by a user runs as that user; owned by root is refused, with the fix', () => {
    const overlay = 0x794c7630;
    expect(workspaceFsVerdict({ dir: '/w', fsType: overlay, ownerUid: 1000, root: true })).toMatchObject({ status: 'pass', detail: expect.stringContaining('runs as its owner, uid 1000') });
    const rootOwned = workspaceFsVerdict({ dir: '/w', fsType: overlay, ownerUid: 0, root: true });
    expect(rootOwned.status).toBe('warn');
    expect(rootOwned.detail).toContain('overlayfs');
    expect(rootOwned.fix).toContain('ext4, xfs, btrfs or tmpfs');
    expect(workspaceFsVerdict({ dir: '/w', fsType: 0xef53, ownerUid: 0, root: true }).status).toBe('pass');
    expect(workspaceFsVerdict({ dir: '/w', fsType: overlay, ownerUid: 0, root: false }).status).toBe('pass');
  });

  it('warns when NEMOCLAW_HOME has less than 1 GiB free, naming the home and how to bound the audit log', () => {
    const low = diskVerdict(300 * 1024 ** 2, '/h');
    expect(low.status).toBe('warn');
    expect(low.detail).toContain('300 MiB free on /h');
    expect(low.fix).toContain('audit prune');
    expect(diskVerdict(5 * 1024 ** 3, '/h')).toMatchObject({ status: 'pass', detail: '5120 MiB free on /h\'s filesystem' });
    expect(diskVerdict(null, '/h').status).toBe('warn');
  });

  it('kernel: pass from 6.12, warn between 5.13 and 6.12, fail before Landlock', () => {
    expect(kernelVerdict('6.18.44-fc').status).toBe('pass');
    expect(kernelVerdict('6.1.0-28-amd64').status).toBe('warn');
    expect(kernelVerdict('5.10.0').status).toBe('fail');
  });

  it('landlock: ABI decides, a missing probe is explained', () => {
    expect(landlockVerdict(7, null)).toMatchObject({ status: 'pass', detail: 'ABI 7' });
    expect(landlockVerdict(3, null).status).toBe('warn');
    expect(landlockVerdict(0, null)).toMatchObject({ status: 'fail' });
    expect(landlockVerdict(0, null).fix).toContain('lsm=landlock');
    expect(landlockVerdict(null, 'lockdown,capability,landlock').status).toBe('warn');
    expect(landlockVerdict(null, null).status).toBe('fail');
  });

  it('seccomp: user notification is required', () => {
    expect(seccompVerdict('kill_process kill_thread trap errno user_notif trace log allow').status).toBe('pass');
    expect(seccompVerdict('kill_process errno allow').status).toBe('fail');
    expect(seccompVerdict(null).status).toBe('fail');
  });

  it('user namespaces: Ubuntu AppArmor restriction fails for ordinary users with the exact sysctl', () => {
    const v = userNsVerdict({ uid: 1000, unprivilegedClone: null, maxUserNamespaces: '63000', apparmorRestrict: '1' });
    expect(v.status).toBe('fail');
    expect(v.fix).toContain('sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
    expect(userNsVerdict({ uid: 0, unprivilegedClone: null, maxUserNamespaces: '63000', apparmorRestrict: '1' }).status).toBe('warn');
  });

  it('user namespaces: Debian switch and a zero maximum are named', () => {
    const v = userNsVerdict({ uid: 1000, unprivilegedClone: '0', maxUserNamespaces: '0', apparmorRestrict: null });
    expect(v.status).toBe('fail');
    expect(v.fix).toContain('sysctl -w kernel.unprivileged_userns_clone=1');
    expect(v.fix).toContain('sysctl -w user.max_user_namespaces=15000');
    expect(userNsVerdict({ uid: 1000, unprivilegedClone: '1', maxUserNamespaces: '63000', apparmorRestrict: '0' }).status).toBe('pass');
  });

  it('cgroups: version, controllers and delegation', () => {
    const base = { uid: 0, v2Controllers: null, v1Controllers: ['cpu', 'memory', 'pids'], writable: true, hybrid: true };
    expect(cgroupVerdict(base)).toMatchObject({ status: 'pass', detail: 'v1 (hybrid): cpu, memory, pids; delegated (writable)' });
    expect(cgroupVerdict({ ...base, v2Controllers: 'cpuset cpu io memory pids', v1Controllers: [], hybrid: false }).detail).toMatch(/^v2: cpu, memory, pids/);
    expect(cgroupVerdict({ ...base, v1Controllers: ['cpu'] }).status).toBe('warn');
    expect(cgroupVerdict({ ...base, uid: 1000, writable: false })).toMatchObject({ status: 'warn' });
    expect(cgroupVerdict({ ...base, v1Controllers: [] }).status).toBe('warn');
  });
});

describe('doctor gpu row with a FAKE nvidia-smi (no GPU on this machine)', () => {
  it('passes with what nvidia-smi answers, warns with the fix when it is missing', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { CHECKS } = await import('./doctor.ts');
    const gpu = CHECKS.find((c) => c.name === 'gpu');
    if (!gpu) throw new Error('no gpu check');
    const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-fake-nvidia-smi-'));
    const savedPath = process.env.PATH;
    try {
      writeFileSync(join(dir, 'nvidia-smi'), '#!/bin/sh\necho "NVIDIA H100 80GB HBM3, 550.54.15"\n', { mode: 0o755 });
      process.env.PATH = `${dir}:${savedPath ?? ''}`;
      expect(await gpu.probe({ uid: 0, helper: '/x' })).toMatchObject({ status: 'pass', detail: 'NVIDIA H100 80GB HBM3, 550.54.15' });
      process.env.PATH = dir.replace(/$/, '-empty');
      const missing = await gpu.probe({ uid: 0, helper: '/x' });
      expect(missing.status).toBe('warn');
      expect(missing.fix).toContain('nvidia');
    } finally {
      process.env.PATH = savedPath;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
