// Test harness: a real `nemoclaw serve` in a child process (so it can be SIGKILLed), the CLI as a
// child process and the API client (bounded polling is test/helpers/wait.ts). Every test file has
// its own NEMOCLAW_HOME (test/isolated-home.ts); each supervisor here gets a fresh one under it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient } from '../../src/supervisor/index.ts';
import type { BusEvent } from '../../src/supervisor/index.ts';
import { waitFor } from '../helpers/wait.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE = join(ROOT, 'node_modules/node/bin/node');
export const MAIN = join(ROOT, 'src/cli/main.ts');
export const HELPER = join(ROOT, 'native/build/nemoclaw-sandbox');

/** A fresh NEMOCLAW_HOME under this test file's private one (short: socket paths are limited). */
export function freshHome(): string {
  const base = process.env.NEMOCLAW_HOME as string;
  return mkdtempSync(join(base, 'h'));
}

/** A workspace directory for sandboxes: outside NEMOCLAW_HOME (src/sandbox refuses a writable path inside nemoclaw's state). */
const workspaces: string[] = [];
process.on('exit', () => {
  for (const w of workspaces) rmSync(w, { recursive: true, force: true });
});

export function workspace(_home: string): string {
  const w = mkdtempSync(join(tmpdir(), 'ncws-'));
  workspaces.push(w);
  return w;
}

export interface Served {
  home: string;
  proc: ChildProcess;
  api: ApiClient;
  output: () => string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function serve(home: string, extra: string[] = []): Promise<Served> {
  const proc = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, 'serve', ...extra], { env: { ...process.env, NEMOCLAW_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const api = new ApiClient(join(home, 'run', 'api.sock'));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(async () => {
    if (gone) throw new Error(`serve exited: ${out}`);
    return api.call('GET', '/v1/health');
  }, `supervisor on ${home}`, { withinMs: 15_000 });
  return {
    home,
    proc,
    api,
    output: () => out,
    exited,
    async stop() {
      if (!gone) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** A supervisor on a fresh NEMOCLAW_HOME, with a workspace for its sandboxes. */
export async function serveFresh(extra: string[] = []): Promise<{ sv: Served; ws: string }> {
  const home = freshHome();
  const ws = workspace(home);
  const sv = await serve(home, extra);
  return { sv, ws };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(home: string, args: string[], input?: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done) => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { env: { ...process.env, NEMOCLAW_HOME: home, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.end(input ?? '');
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Every event currently buffered (no follow). */
export async function events(api: ApiClient, since = 0): Promise<BusEvent[]> {
  const out: BusEvent[] = [];
  const s = api.stream(`/v1/events?since=${since}`, (e) => out.push(e as unknown as BusEvent));
  await s.done;
  return out;
}

/** Host pids of processes whose command line contains `marker`. */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
