// Integration (issue 13, part 4): a run leaves the workspace as it found it. The placeholders that
// let the helper protect absent paths (.envrc, .vscode, .idea) exist only while a sandbox on that
// workspace runs; the last one to end removes them (src/sandbox/lease.ts), also when nemoclaw was
// SIGKILLed (its janitor, src/sandbox/janitor.ts). Real CLI, real helper, a real git repository.
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { bin, tempDirs } from './build-helper.ts';

const [scratch, state] = tempDirs('nemoclaw-test-clean-ws-', 'nemoclaw-test-clean-ws-home-') as [string, string];
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, NEMOCLAW_HOME: state };

/** A clean repository with one committed file, as a user's project looks. */
function repo(): string {
  const ws = mkdtempSync(join(scratch, 'repo-'));
  const git = (...args: string[]): void => {
    const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: ws, encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git('init', '-q');
  writeFileSync(join(ws, 'README'), 'hello\n');
  git('add', 'README');
  git('commit', '-q', '-m', 'init');
  return ws;
}

function porcelain(ws: string): string {
  return spawnSync('git', ['status', '--porcelain', '--ignored', '--untracked-files=all'], { cwd: ws, encoding: 'utf8', env }).stdout;
}

function run(ws: string, script: string): SpawnSyncReturns<string> {
  return spawnSync(bin, ['sandbox', 'run', '--workspace', ws, '--', 'sh', '-c', script], { cwd: ws, encoding: 'utf8', timeout: 60_000, env });
}

/** A run in the background: its workload waits (inside the sandbox) until `release` exists. */
function background(ws: string, marker: string, script: string): { pid: number; done: Promise<{ code: number | null; out: string }> } {
  const p = spawn(bin, ['sandbox', 'run', '--workspace', ws, '--', 'sh', '-c', `touch ${marker}; while [ ! -e release ]; do sleep 0.02; done; ${script}`], { cwd: ws, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { pid: p.pid as number, done: new Promise((resolve) => p.on('close', (code) => resolve({ code, out }))) };
}

describe('a run leaves the workspace as it found it (real helper)', () => {
  it('a clean repository stays clean after a run, and nothing new is in the directory', () => {
    const ws = repo();
    const before = readdirSync(ws).sort();
    const r = run(ws, 'ls -A >/dev/null; (echo x > .envrc) 2>/dev/null && echo wrote; (mkdir .vscode/x) 2>/dev/null && echo made; echo end');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('end\n'); // protected while it ran
    expect(porcelain(ws)).toBe('');
    expect(readdirSync(ws).sort()).toEqual(before);
  });

  it("the user's own empty .envrc and .vscode are never removed", () => {
    const ws = repo();
    writeFileSync(join(ws, '.envrc'), '');
    mkdirSync(join(ws, '.vscode'));
    expect(run(ws, 'true').status).toBe(0);
    expect(existsSync(join(ws, '.envrc'))).toBe(true);
    expect(existsSync(join(ws, '.vscode'))).toBe(true);
    expect(existsSync(join(ws, '.idea'))).toBe(false);
  });

  it('two overlapping runs: the first to end leaves the other protected; the last leaves it clean', async () => {
    const ws = repo();
    const a = background(ws, 'a-started', '(echo x > .envrc) 2>/dev/null && echo wrote; echo a-end');
    await waitFor(() => existsSync(join(ws, 'a-started')), 'run A to start');
    // B starts and ends while A runs; A's protection must survive B's end.
    const b = run(ws, '(echo x > .envrc) 2>/dev/null && echo wrote; echo b-end');
    expect(b.stdout).toBe('b-end\n');
    expect(existsSync(join(ws, '.envrc'))).toBe(true); // still A's
    writeFileSync(join(ws, 'release'), '');
    const ra = await a.done;
    expect(ra.code, ra.out).toBe(0);
    expect(ra.out).toBe('a-end\n');
    for (const f of ['a-started', 'release']) spawnSync('rm', ['-f', join(ws, f)]);
    expect(porcelain(ws)).toBe('');
  });

  it('a SIGKILLed run: its janitor removes the placeholders once the sandbox is gone', async () => {
    const ws = repo();
    const k = background(ws, 'k-started', 'true');
    await waitFor(() => existsSync(join(ws, 'k-started')), 'the run to start');
    expect(existsSync(join(ws, '.vscode'))).toBe(true);
    process.kill(k.pid, 'SIGKILL');
    await k.done;
    spawnSync('rm', ['-f', join(ws, 'k-started')]);
    await waitFor(() => porcelain(ws) === '' && !existsSync(join(ws, '.vscode')) && !existsSync(join(ws, '.idea')), () => `a clean repository, got: ${JSON.stringify(porcelain(ws))} ${JSON.stringify(readdirSync(ws))}`, { withinMs: 20_000 });
  });

  it('a SIGKILLed run beside a live one: the placeholders stay until the live one ends', async () => {
    const ws = repo();
    const live = background(ws, 'l-started', '(echo x > .envrc) 2>/dev/null && echo wrote; echo live-end');
    await waitFor(() => existsSync(join(ws, 'l-started')), 'the live run to start');
    const k = spawn(bin, ['sandbox', 'run', '--workspace', ws, '--', 'sh', '-c', 'touch k-started; exec sleep 60'], { cwd: ws, env, stdio: 'ignore' });
    await waitFor(() => existsSync(join(ws, 'k-started')), 'the run to kill to start');
    k.kill('SIGKILL');
    await new Promise((r) => k.on('close', r));
    // The killed run's janitor has its holder gone; the live holder keeps the placeholders.
    await waitFor(() => readdirSync(join(state, 'run', 'ws')).every((d) => readdirSync(join(state, 'run', 'ws', d)).filter((n) => n.startsWith('h-')).length <= 1), 'the killed run released');
    expect(existsSync(join(ws, '.envrc'))).toBe(true);
    writeFileSync(join(ws, 'release'), '');
    const rl = await live.done;
    expect(rl.out).toBe('live-end\n');
    for (const f of ['l-started', 'k-started', 'release']) spawnSync('rm', ['-f', join(ws, f)]);
    expect(porcelain(ws)).toBe('');
  });
});
