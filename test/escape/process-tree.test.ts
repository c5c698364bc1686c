// Nothing survives its parent (docs/design.md invariant 5; docs/peers.md red-team cases #4-#6): a workload that
// double-forks a setsid `sleep` and keeps running is SIGKILLed from outside (the nemoclaw process,
// or the helper itself); within a bounded poll no process of the sandbox may be left on the host.
// The same workload run without a sandbox proves that the check sees survivors.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, PROBE_ENV, TMP, classify, cliEnv, describeOutcome, run, token, useProbeBuild } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';

const build = useProbeBuild();

interface Scene {
  ws: string;
  /** Digits in the argv of every sleep of the scene (`sleep 1000.<digits>`, `sleep 999.<digits>`). */
  digits: string;
}

function scene(): Scene {
  const ws = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-tree-'));
  const digits = `${Date.now() % 1e9}${Number.parseInt(token(3), 16)}`;
  fs.copyFileSync(path.join(build(), 'proc'), path.join(ws, 'proc'));
  fs.chmodSync(path.join(ws, 'proc'), 0o755);
  // The marker lives in this file, not in any launcher's argv.
  fs.writeFileSync(path.join(ws, 'tree.sh'), `#!/bin/sh\n./proc daemon 1000.${digits} || exit 3\n: > ready\nexec sleep 999.${digits}\n`);
  return { ws, digits };
}

/** Whether the scene's workload wrote its ready file within `ms` (the shared bounded wait). */
async function readyWithin(file: string, ms: number): Promise<boolean> {
  return waitFor(() => fs.existsSync(file), file, { withinMs: ms, everyMs: 50 }).then(
    () => true,
    () => false,
  );
}

/** Host-side: does any process carry the scene's digits? (see-pids gets them in two halves.) */
async function visible(s: Scene): Promise<string> {
  const r = await run(path.join(build(), 'proc'), ['see-pids', s.digits.slice(0, 4), s.digits.slice(4)], { cwd: s.ws, timeoutMs: 15_000 });
  return describeOutcome(classify(r));
}

/** Host-side: polls up to 3 s for the scene's processes to be gone; kills and reports leftovers. */
async function survivors(s: Scene): Promise<string> {
  const r = await run(path.join(build(), 'proc'), ['survivors', s.digits, '3000'], { cwd: s.ws, timeoutMs: 15_000 });
  return describeOutcome(classify(r));
}

function start(s: Scene, sandboxed: boolean): ReturnType<typeof spawn> {
  const argv = sandboxed ? [CLI, 'sandbox', 'run', '--workspace', s.ws, '--', '/bin/sh', './tree.sh'] : ['/bin/sh', './tree.sh'];
  return spawn(argv[0] as string, argv.slice(1), {
    cwd: s.ws,
    env: sandboxed ? cliEnv() : PROBE_ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const exited = (child: ReturnType<typeof spawn>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

/** Host pids of processes whose parent is ppid and whose executable's name is name. */
function childrenNamed(ppid: number, name: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      // startsWith: a helper rebuilt while it runs reads as "nemoclaw-sandbox (deleted)".
      if (parent === ppid && path.basename(fs.readlinkSync(`/proc/${d}/exe`)).startsWith(name)) out.push(Number(d));
    } catch {
      // raced with an exit
    }
  }
  return out;
}

describe('process tree: no sandboxed process survives a SIGKILL of its parent', () => {
  it('control: unsandboxed, the double-forked setsid daemon survives when its launcher is SIGKILLed', async () => {
    const s = scene();
    try {
      const child = start(s, false);
      expect(await readyWithin(path.join(s.ws, 'ready'), 15_000)).toBe(true);
      expect(await visible(s)).toMatch(/^escaped:/);
      child.kill('SIGKILL');
      expect(await exited(child, 10_000)).toBe(true);
      expect(await survivors(s)).toMatch(/^escaped: .*outlived/); // and they are killed now
    } finally {
      fs.rmSync(s.ws, { recursive: true, force: true });
    }
  }, 60_000);

  it('SIGKILL of the nemoclaw process kills the whole sandbox, setsid daemon included', async () => {
    const s = scene();
    try {
      const child = start(s, true);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      expect(await readyWithin(path.join(s.ws, 'ready'), 20_000), `the sandboxed workload never got ready: ${stderr}`).toBe(true);
      expect(await visible(s), 'the sandboxed sleeps are visible from the host before the kill').toMatch(/^escaped:/);
      child.kill('SIGKILL');
      expect(await exited(child, 10_000)).toBe(true);
      expect(await survivors(s)).toMatch(/^blocked:/);
    } finally {
      fs.rmSync(s.ws, { recursive: true, force: true });
    }
  }, 60_000);

  // Case #6: the parent dies while the sandbox is still being built (between fork and
  // PR_SET_PDEATHSIG, during mounts, before exec). 20 kills at 0-380 ms after the start (Node
  // itself takes about 100 ms to start the helper). The helper's argv carries the marker too.
  it('SIGKILL of nemoclaw at any moment of the start-up leaves nothing behind', async () => {
    const digits = `${Date.now() % 1e9}${Number.parseInt(token(3), 16)}`;
    const dirs: string[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const ws = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-tree-'));
        dirs.push(ws);
        const child = spawn(CLI, ['sandbox', 'run', '--workspace', ws, '--', 'sleep', `999.${digits}`], { cwd: ws, env: cliEnv(), stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, i * 20));
        child.kill('SIGKILL');
        expect(await exited(child, 10_000)).toBe(true);
      }
      const s: Scene = { ws: dirs[0] as string, digits };
      expect(await survivors(s)).toMatch(/^blocked:/);
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  it('SIGKILL of the helper (nemoclaw-sandbox monitor) kills the whole sandbox, setsid daemon included', async () => {
    const s = scene();
    const child = start(s, true);
    try {
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      expect(await readyWithin(path.join(s.ws, 'ready'), 20_000), `the sandboxed workload never got ready: ${stderr}`).toBe(true);
      const helpers = childrenNamed(child.pid as number, 'nemoclaw-sandbox');
      expect(helpers.length, 'the helper is a child of the nemoclaw process').toBe(1);
      expect(await visible(s)).toMatch(/^escaped:/);
      process.kill(helpers[0] as number, 'SIGKILL');
      expect(await survivors(s)).toMatch(/^blocked:/);
      expect(await exited(child, 10_000), 'nemoclaw exits once its helper is gone').toBe(true);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(s.ws, { recursive: true, force: true });
    }
  }, 60_000);
});
