// The helper's on-disk cache of compiled seccomp filters (--seccomp-cache DIR, issue 23): an entry
// per syscall lists, written 0600 and atomically, loaded only when it is ours alone and intact;
// anything else (another owner, a group-writable file or directory, a link, a bad checksum, a torn
// length) is ignored: the filter is compiled and the entry rewritten. What proves an entry is
// loaded: the program compiled without --deny-syscall uname, planted under the key of the lists
// with it, lets uname run; every refusal below shows uname denied again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const HELPER = join(ROOT, 'native/build/nemoclaw-sandbox');
const SYS = ['--ro', '/usr', '--ro', '/lib', '--ro', '/lib64', '--ro', '/bin'];
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-bpfcache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ws = mkdtempSync(join(scratch, 'ws-'));
const HEADER = 8 + 65;

function uname(cache: string, extra: string[] = []): { status: number | null; stderr: string } {
  const r = spawnSync(HELPER, [...SYS, '--workspace', ws, '--seccomp-cache', cache, ...extra, '--', '/bin/uname'], { encoding: 'utf8', cwd: '/', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

const entries = (dir: string): string[] => readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f));

describe('nemoclaw-sandbox --seccomp-cache', () => {
  const cache = join(scratch, 'cache');
  const DENY = ['--deny-syscall', 'uname'];
  let denyName = ''; // the entry of the lists with --deny-syscall uname
  let plain: Buffer = Buffer.alloc(0); // the program compiled without it

  it('writes one entry per syscall lists, 0600, with the SHA-256 of its instructions; nothing else stays behind', () => {
    expect(uname(cache).status).toBe(0);
    const [plainName] = entries(cache);
    expect(plainName).toBeDefined();
    plain = readFileSync(join(cache, plainName as string));
    expect(uname(cache, DENY).status).not.toBe(0);
    expect(entries(cache)).toHaveLength(2);
    denyName = entries(cache).find((f) => f !== plainName) as string;
    expect(readdirSync(cache)).toHaveLength(2); // no temp files left
    for (const f of entries(cache)) {
      const st = lstatSync(join(cache, f));
      expect(st.isFile() && (st.mode & 0o777) === 0o600 && st.uid === process.getuid?.()).toBe(true);
      const b = readFileSync(join(cache, f));
      expect(b.subarray(0, 8).toString('latin1')).toBe('NCBPF1\n\0');
      expect(b.subarray(8, 72).toString()).toBe(createHash('sha256').update(b.subarray(HEADER)).digest('hex'));
      expect((b.length - HEADER) % 8).toBe(0);
    }
    expect(lstatSync(cache).mode & 0o777).toBe(0o700);
  });

  // The planted entry: the program compiled without the uname rule, under the key of the lists
  // with it. Loaded, it lets uname through (which is why only an entry of ours is ever loaded).
  const plant = (): string => {
    const file = join(cache, denyName);
    rmSync(file, { force: true });
    writeFileSync(file, plain, { mode: 0o600 });
    return file;
  };

  it('loads an entry that is ours and intact: the cached program is the one enforced, nothing is rewritten', () => {
    const file = plant();
    expect(uname(cache, DENY).status).toBe(0); // the planted program: uname is not even notified
    expect(readFileSync(file).equals(plain)).toBe(true);
  });

  const refusals: Array<[string, (file: string, planted: Buffer) => void]> = [
    ['group- and world-readable file (not 0600)', (f) => chmodSync(f, 0o644)],
    ['file owned by another user', (f) => chownSync(f, 65534, 65534)],
    ['bad checksum (one instruction byte changed)', (f, d) => {
      const b = Buffer.from(d);
      b[HEADER + 3] = (b[HEADER + 3] as number) ^ 0xff;
      writeFileSync(f, b);
    }],
    ['torn entry (length not whole instructions)', (f, d) => writeFileSync(f, d.subarray(0, d.length - 3))],
    ['empty entry', (f) => writeFileSync(f, '')],
    ['a symlink to a valid entry', (f, d) => {
      const target = join(scratch, 'elsewhere.bpf');
      writeFileSync(target, d, { mode: 0o600 });
      unlinkSync(f);
      symlinkSync(target, f);
    }],
  ];
  for (const [what, spoil] of refusals) {
    it(`ignores and replaces a ${what}: the filter is compiled`, () => {
      const file = plant();
      spoil(file, plain);
      expect(uname(cache, DENY).status).not.toBe(0); // compiled: uname denied as the lists say
      const st = lstatSync(file);
      expect(st.isFile() && (st.mode & 0o777) === 0o600 && st.uid === process.getuid?.()).toBe(true);
      expect(readFileSync(file).equals(plain)).toBe(false); // rewritten with the compiled program
      expect(uname(cache, DENY).status).not.toBe(0); // which is what is loaded from now on
    });
  }

  it('trusts nothing in a directory others could write, and writes nothing there', () => {
    const file = plant();
    chmodSync(cache, 0o770);
    try {
      expect(uname(cache, DENY).status).not.toBe(0);
      expect(readFileSync(file).equals(plain)).toBe(true); // left alone
    } finally {
      chmodSync(cache, 0o700);
    }
    const linked = join(scratch, 'linked-cache');
    symlinkSync(cache, linked);
    expect(uname(linked, DENY).status).not.toBe(0); // a cache directory reached through a link: compiled
  });

  it('creates its directory 0700 when the parent exists, and runs without a cache when it cannot have one', () => {
    const fresh = join(scratch, 'p', 'seccomp');
    mkdirSync(join(scratch, 'p'));
    expect(uname(fresh).status).toBe(0);
    expect(lstatSync(fresh).mode & 0o777).toBe(0o700);
    expect(entries(fresh)).toHaveLength(1);
    expect(uname(join(scratch, 'missing', 'parent', 'seccomp')).status).toBe(0);
  });

  it('is refused at argument parsing unless an absolute, canonical path', () => {
    for (const bad of ['relative/dir', '/a/../b', '/']) {
      const r = spawnSync(HELPER, [...SYS, '--workspace', ws, '--seccomp-cache', bad, '--', '/bin/true'], { encoding: 'utf8', cwd: '/' });
      expect(r.status, bad).toBe(125);
      expect(r.stderr, bad).toContain('invalid value for seccomp-cache');
    }
  });
});
