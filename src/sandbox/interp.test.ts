// The sandbox-view model behind the "cannot start: loader not visible" hint (interp.ts), on
// injected host facts for the symlink rules and on real host files for ELF and #! parsing.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeMissing, interpreterOf, missingInterpreter, sandboxView } from './interp.ts';

const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-interp-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const merged = {
  readLink: (p: string): string | null => ({ '/bin': 'usr/bin', '/lib64': 'usr/lib64', '/lib': 'usr/lib', '/sbin': 'usr/sbin' })[p] ?? null,
  real: (p: string): string | null => ({ '/bin': '/usr/bin', '/lib64': '/usr/lib64', '/lib': '/usr/lib', '/sbin': '/usr/sbin' })[p] ?? null,
};

describe('sandboxView: the symlinks the helper recreates', () => {
  it('merged-/usr links appear when their target is bound, not otherwise', () => {
    expect([...sandboxView(['/usr'], merged).links].sort()).toEqual([
      ['/bin', 'usr/bin'],
      ['/lib', 'usr/lib'],
      ['/lib64', 'usr/lib64'],
      ['/sbin', 'usr/sbin'],
    ]);
    expect([...sandboxView(['/usr/bin'], merged).links.keys()].sort()).toEqual(['/bin']);
    expect(sandboxView(['/opt'], merged).links.size).toBe(0);
  });

  it('a listed symlink stays a link when its target is listed, and the policy wins over the merged-/usr rule', () => {
    const v = sandboxView(['/usr', '/lib'], merged);
    expect(v.links.get('/lib')).toBe('usr/lib');
    expect(v.binds).toEqual(['/usr']);
  });
});

describe('interpreterOf', () => {
  it('reads PT_INTERP of a dynamically linked ELF and the #! of a script', () => {
    expect(interpreterOf('/usr/bin/env')).toMatchObject({ kind: 'elf', path: expect.stringMatching(/^\/lib.*ld-/) });
    const script = join(dir, 's');
    writeFileSync(script, '#!/usr/bin/env  -S python3\n');
    expect(interpreterOf(script)).toEqual({ kind: 'script', path: '/usr/bin/env' });
    writeFileSync(script, 'plain text');
    expect(interpreterOf(script)).toBeNull();
    expect(interpreterOf(join(dir, 'absent'))).toBeNull();
  });
});

describe('missingInterpreter', () => {
  it('names the loader of a command that is visible, and nothing for one that is not', () => {
    const view = sandboxView(['/usr/bin']);
    const m = missingInterpreter(view, 'env', '/usr/bin:/bin', '/w');
    expect(m).toMatchObject({ file: 'env', kind: 'elf' });
    expect(describeMissing('env', m!)).toMatch(/^env is in the sandbox but cannot start: its ELF loader \/\S+ is not visible; add \/\S+ to filesystem_policy.read_only$/);
    expect(missingInterpreter(view, 'no-such-tool', '/usr/bin', '/w')).toBeNull();
    expect(missingInterpreter(sandboxView(['/usr', '/lib', '/lib64']), 'env', '/usr/bin', '/w')).toBeNull();
  });

  it('follows a #! chain: the script is visible, its interpreter is, the interpreter of that is not', () => {
    const ws = mkdtempSync(join(dir, 'ws-'));
    writeFileSync(join(ws, 'inner'), '#!/opt/nemoclaw-absent/bin/tool\n');
    writeFileSync(join(ws, 'outer'), `#!${ws}/inner\n`);
    chmodSync(join(ws, 'outer'), 0o755);
    const m = missingInterpreter(sandboxView(['/usr', ws]), './outer', '/usr/bin', ws);
    expect(m).toEqual({ file: `${ws}/inner`, kind: 'script', interpreter: '/opt/nemoclaw-absent/bin/tool', add: '/opt/nemoclaw-absent/bin' });
  });
});
