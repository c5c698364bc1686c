// Integration (issue 13, part 5 and "Also"): policies written the way OpenShell writes them run
// unchanged. Their read_only lists /usr and /lib but not /bin or /lib64, which is enough under
// OpenShell's Landlock-over-a-full-root and, here, only because the sandbox root gets the host's
// merged-/usr symlinks whenever /usr is visible (native/src/mounts.c). A command whose loader or
// #! interpreter is not visible says so with the path to add, and the sandbox has its own
// /etc/passwd and /etc/group (real CLI, real helper).
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MERGED_USR } from '../../src/sandbox/interp.ts';
import { bin, tempDirs } from './build-helper.ts';

const [scratch, state] = tempDirs('nemoclaw-test-openshell-run-', 'nemoclaw-test-openshell-run-home-') as [string, string];

// OpenShell's vocabulary as its published policies use it: include_workdir, read_only with /usr,
// /lib, /proc, device files and paths this host lacks (/app, /sandbox), best_effort landlock,
// run_as_user/run_as_group, network_policies by name. No /bin, no /lib64.
const QUICKSTART = `version: 1

filesystem_policy:
  include_workdir: true
  read_only:
    - /usr
    - /lib
    - /proc
    - /dev/urandom
    - /app
    - /etc
  read_write:
    - /sandbox
    - /tmp
    - /dev/null

landlock:
  compatibility: best_effort

process:
  run_as_user: sandbox
  run_as_group: sandbox

network_policies:
  claude_code:
    name: claude_code
    endpoints:
      - { host: api.anthropic.com, port: 443 }
      - { host: statsig.anthropic.com, port: 443 }
`;

// The smallest OpenShell filesystem policy: /usr and /lib only, hard Landlock.
const MINIMAL = `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /lib]
  read_write: [/tmp]
landlock:
  compatibility: hard_requirement
`;

// Too narrow on purpose: the binaries are visible, their loader is not.
const NARROW = `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr/bin]
  read_write: [/tmp]
`;

function policy(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

function run(policyFile: string | null, cmd: string[]): SpawnSyncReturns<string> {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  return spawnSync(bin, ['sandbox', 'run', ...(policyFile ? ['--policy', policyFile] : []), '--workspace', ws, '--', ...cmd], {
    encoding: 'utf8',
    cwd: ws,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, NEMOCLAW_HOME: state },
  });
}

/** The host's merged-/usr links (name -> link text); the sandbox must show the same ones. */
function hostMergedUsr(): Map<string, string> {
  const links = new Map<string, string>();
  for (const name of MERGED_USR) {
    try {
      if (lstatSync(name).isSymbolicLink()) links.set(name, readlinkSync(name));
    } catch {
      // absent on this host
    }
  }
  return links;
}

describe('OpenShell policies run unchanged (real helper)', () => {
  it('this host has merged /usr (the case the issue is about)', () => {
    expect(hostMergedUsr().get('/lib64') ?? hostMergedUsr().get('/lib')).toMatch(/^\/?usr\//);
  });

  it('sandbox run --policy quickstart.yaml -- /usr/bin/sh -c true works', () => {
    const r = run(policy('quickstart.yaml', QUICKSTART), ['/usr/bin/sh', '-c', 'true']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a /usr + /lib policy under hard Landlock runs a dynamically linked program through PATH', () => {
    const r = run(policy('minimal.yaml', MINIMAL), ['sh', '-c', 'ls / >/dev/null && echo ran']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('ran\n');
  });

  it('the sandbox root has exactly the host merged-/usr links whose target is visible', () => {
    const r = run(policy('minimal2.yaml', MINIMAL), ['sh', '-c', `for n in ${MERGED_USR.join(' ')}; do [ -L "$n" ] && echo "$n $(readlink "$n")"; done; true`]);
    expect(r.status, r.stderr).toBe(0);
    const expected = [...hostMergedUsr()].map(([n, t]) => `${n} ${t}\n`).join('');
    expect(r.stdout).toBe(expected);
  });

  it('a missing ELF loader is named, with the path to add, instead of "command not found"', () => {
    const r = run(policy('narrow.yaml', NARROW), ['/usr/bin/sh', '-c', 'true']);
    expect(r.status).toBe(127);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^nemoclaw: \/usr\/bin\/sh is in the sandbox but cannot start: its ELF loader (\/\S+) is not visible; add (\/\S+) to filesystem_policy.read_only \(errno 2\)$/);
  });

  it('a missing #! interpreter is named too; a command that is really absent stays "not found"', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    writeFileSync(join(ws, 'tool'), '#!/opt/nemoclaw-absent/python3\nprint(1)\n');
    chmodSync(join(ws, 'tool'), 0o755);
    const r = spawnSync(bin, ['sandbox', 'run', '--workspace', ws, '--', './tool'], {
      encoding: 'utf8',
      cwd: ws,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, NEMOCLAW_HOME: state },
    });
    expect(r.status).toBe(127);
    expect(r.stderr.trim()).toBe(
      'nemoclaw: ./tool is in the sandbox but cannot start: its #! interpreter /opt/nemoclaw-absent/python3 is not visible; add /opt/nemoclaw-absent to filesystem_policy.read_only (errno 2)',
    );
    const absent = run(null, ['nemoclaw-no-such-command']);
    expect(absent.status).toBe(127);
    expect(absent.stderr.trim()).toBe('nemoclaw: nemoclaw-no-such-command: command not found in the sandbox (errno 2)');
  });
});

describe("the sandbox's own /etc/passwd and /etc/group (real helper)", () => {
  it('id names the sandbox user; passwd and group hold the sandbox user, root and nobody only', () => {
    const r = run(null, ['sh', '-c', 'id; echo --; cat /etc/passwd; echo --; cat /etc/group']);
    expect(r.status, r.stderr).toBe(0);
    const [id, passwd, group] = r.stdout.split('--\n');
    expect(id).toBe('uid=1000(sandbox) gid=1000(sandbox) groups=1000(sandbox)\n');
    expect(passwd?.trim().split('\n').map((l) => l.split(':')[0])).toEqual(['root', 'sandbox', 'nobody']);
    expect(group?.trim().split('\n').map((l) => l.split(':')[0])).toEqual(['root', 'sandbox', 'nogroup']);
  });

  it('the same under a policy that shows the whole host /etc, and the files cannot be changed', () => {
    const r = run(policy('quickstart-etc.yaml', QUICKSTART), ['sh', '-c', 'cut -d: -f1 /etc/passwd | tr "\\n" " "; (echo x >> /etc/passwd) 2>/dev/null && echo wrote; true']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('root sandbox nobody ');
  });

  it('a policy that lists neither file still resolves the sandbox user', () => {
    const r = run(policy('minimal-id.yaml', MINIMAL), ['id', '-un']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('sandbox\n');
  });
});
