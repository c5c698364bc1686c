import { describe, expect, it } from 'vitest';
import { SHARED_SYSTEM_DIRS, WORKSPACE_PROTECTED, isSameOrUnder, placeholdersNeeded, protectedPaths, readOnlyRefusal, sharedLocationRefusal, stateOverlapRefusal } from './paths.ts';

const dir = (path: string, real = path, mode: number | null = 0o40755) => ({ path, real, mode });

describe('sharedLocationRefusal', () => {
  it.each(SHARED_SYSTEM_DIRS.map((d) => [d]))('refuses %s', (d) => {
    expect(sharedLocationRefusal('workspace', dir(d), '/home/op')).toContain('shared system location');
  });
  it('refuses a path whose real path is shared (trailing slash too)', () => {
    expect(sharedLocationRefusal('workspace', dir('/srv/proj/', '/tmp/'), null)).toContain('/srv/proj');
  });
  it("refuses the operator's HOME, not a project in it", () => {
    expect(sharedLocationRefusal('workspace', dir('/home/op'), '/home/op')).toContain('home directory');
    expect(sharedLocationRefusal('workspace', dir('/home/op/proj'), '/home/op')).toBeNull();
  });
  it('refuses world-writable sticky directories only', () => {
    expect(sharedLocationRefusal('workspace', dir('/data/x', '/data/x', 0o41777), null)).toContain('world-writable');
    expect(sharedLocationRefusal('workspace', dir('/data/x', '/data/x', 0o40777), null)).toBeNull();
    expect(sharedLocationRefusal('workspace', dir('/data/x', '/data/x', null), null)).toBeNull();
  });
});

describe('stateOverlapRefusal', () => {
  it('refuses both directions and names both paths', () => {
    const a = stateOverlapRefusal('workspace', '/p', '/p/.nemoclaw') ?? '';
    expect(a).toContain('/p');
    expect(a).toContain('/p/.nemoclaw');
    expect(stateOverlapRefusal('workspace', '/s/x', '/s')).toContain('inside');
    expect(stateOverlapRefusal('workspace', '/p', '/pp/.nemoclaw')).toBeNull();
  });
});

describe('protectedPaths', () => {
  it('lists the workspace table and extra files inside writable paths only', () => {
    const out = protectedPaths('/w', ['/w', '/data'], ['/w/policy.yaml', '/etc/policy.yaml', '/data/bp.yaml', '/w']);
    for (const rel of WORKSPACE_PROTECTED) expect(out).toContain(`/w/${rel}`);
    expect(out).toContain('/w/policy.yaml');
    expect(out).toContain('/data/bp.yaml');
    expect(out).not.toContain('/etc/policy.yaml');
    expect(out).not.toContain('/w');
  });
  it('isSameOrUnder', () => {
    expect(isSameOrUnder('/a/b', '/a')).toBe(true);
    expect(isSameOrUnder('/ab', '/a')).toBe(false);
    expect(isSameOrUnder('/a', '/')).toBe(true);
  });
});

describe('placeholdersNeeded', () => {
  it('creates directories and .envrc, git directories only inside an existing .git, never files git would show', () => {
    const none = placeholdersNeeded(() => false, false).map((e) => e.path);
    expect(none.sort()).toEqual(['.envrc', '.idea', '.vscode']);
    const inRepo = placeholdersNeeded((p) => p === '.git/config', true).map((e) => e.path);
    expect(inRepo.sort()).toEqual(['.envrc', '.git/hooks', '.git/info', '.idea', '.vscode']);
    expect(placeholdersNeeded(() => true, true)).toEqual([]);
  });
});

describe('readOnlyRefusal', () => {
  const state = '/home/op/.nemoclaw';
  it('refuses paths holding or inside the state directory, except files bound on purpose', () => {
    expect(readOnlyRefusal('/home', state, '/home/op', [])).toContain('contains nemoclaw');
    expect(readOnlyRefusal('/home/op/.nemoclaw/sockets', state, '/home/op', [])).toContain('inside');
    expect(readOnlyRefusal('/home/op/.nemoclaw/sockets/x.ca/bundle.pem', state, '/home/op', ['/home/op/.nemoclaw/sockets/x.ca/bundle.pem'])).toBeNull();
    expect(readOnlyRefusal('/home/op/.nemoclaw/sockets/x.ca/ca-key.pem', state, '/home/op', ['/home/op/.nemoclaw/sockets/x.ca/bundle.pem'])).toContain('inside');
  });
  it("refuses paths holding the operator's home, not paths inside it", () => {
    expect(readOnlyRefusal('/home/op', '/var/lib/nc', '/home/op', [])).toContain('home directory');
    expect(readOnlyRefusal('/', '/var/lib/nc', '/home/op', [])).not.toBeNull();
    expect(readOnlyRefusal('/home/op/src/lib', '/var/lib/nc', '/home/op', [])).toBeNull();
    expect(readOnlyRefusal('/usr', '/var/lib/nc', '/home/op', [])).toBeNull();
  });
});
