// `nemoclaw agents install|list|remove` with the real OpenClaw (the pinned version) from the npm
// registry, installed once into the tests' cache (cache.ts): the install runs on the project's
// Node 24 and carries its own copy of it, answers "already installed" only after the agent ran
// again, and a failed install leaves nothing behind (docs/agents.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, freshHome } from '../supervisor/harness.ts';
import { AGENTS_CACHE, TEST_CACHE, cachedOpenClaw } from './cache.ts';

const PINNED = '2026.9.6';
let home: string;
let first: Awaited<ReturnType<typeof cachedOpenClaw>>;
const scratch: string[] = [];

beforeAll(async () => {
  home = freshHome();
  first = await cachedOpenClaw(home);
}, 300_000);

afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A private agents directory on the cache's filesystem (so an install can be hard-linked into it). */
function scratchAgents(): string {
  const d = mkdtempSync(join(TEST_CACHE, 'scratch-'));
  scratch.push(d);
  return d;
}

async function withAgents<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.NEMOCLAW_AGENTS_DIR;
  process.env.NEMOCLAW_AGENTS_DIR = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.NEMOCLAW_AGENTS_DIR;
    else process.env.NEMOCLAW_AGENTS_DIR = saved;
  }
}

describe('agents install/list/remove (real OpenClaw)', () => {
  it('installs the pinned version with its own Node 24, which runs the agent', () => {
    expect(first.install.version).toBe(PINNED);
    expect(first.install.dir).toBe(join(AGENTS_CACHE, 'openclaw', PINNED));
    const node = join(first.install.dir, first.install.node);
    const v = spawnSync(node, ['--version'], { encoding: 'utf8' });
    expect(v.stdout.trim()).toMatch(/^v24\./);
    const oc = spawnSync(node, [join(first.install.dir, first.install.entry), '--version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: mkdtempSync(join(TEST_CACHE, 'scratch-home-')), OPENCLAW_OFFLINE: '1' } });
    expect(oc.status, oc.stderr).toBe(0);
    expect(oc.stdout).toMatch(new RegExp(`^OpenClaw ${PINNED.replaceAll('.', '\\.')}`));
    // Nothing of the install is left in temporaries beside it.
    expect(readdirSync(join(AGENTS_CACHE, 'openclaw')).filter((n) => /^\.(install|remove)-/.test(n))).toEqual([]);
  });

  it('a second install re-checks the agent and answers "already installed" without npm', async () => {
    const r = await withAgents(AGENTS_CACHE, () => cli(home, ['agents', 'install', `openclaw@${PINNED}`]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^already installed: openclaw@${PINNED.replaceAll('.', '\\.')} \\(OpenClaw ${PINNED.replaceAll('.', '\\.')}`));
    expect(r.stderr).not.toMatch(/npm install/);
  });

  it('list shows the install; remove takes it away atomically; list is then empty', async () => {
    const dir = scratchAgents();
    // A hard-linked copy of the cached install (seconds, no download), so removing it keeps the cache.
    const cp = spawnSync('cp', ['-al', join(AGENTS_CACHE, 'openclaw'), join(dir, 'openclaw')]);
    expect(cp.status).toBe(0);
    await withAgents(dir, async () => {
      const l = await cli(home, ['agents', 'list', '--json']);
      expect(l.code, l.stderr).toBe(0);
      const agents = (JSON.parse(l.stdout) as { agents: Array<{ agent: string; version: string; dir: string }> }).agents;
      expect(agents.map((a) => `${a.agent}@${a.version}`)).toEqual([`openclaw@${PINNED}`]);
      const human = await cli(home, ['agents', 'list']);
      expect(human.stdout).toContain(`openclaw@${PINNED} (pinned)  Node 24.`);
      const rm = await cli(home, ['agents', 'remove', 'openclaw']);
      expect(rm.code, rm.stderr).toBe(0);
      expect(rm.stdout).toBe(`removed openclaw@${PINNED}\n`);
      expect(readdirSync(join(dir, 'openclaw'))).toEqual([]);
      const again = await cli(home, ['agents', 'remove', `openclaw@${PINNED}`]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`openclaw@${PINNED} is not installed`);
      const empty = await cli(home, ['agents', 'list']);
      expect(empty.stdout).toContain('no agents installed');
      expect(empty.stdout).toContain('nemoclaw agents install openclaw');
    });
    // The cache itself is untouched.
    expect(existsSync(join(first.install.dir, 'manifest.json'))).toBe(true);
  });

  it('a version that does not exist fails with npm\'s reason and leaves no directory', async () => {
    const dir = scratchAgents();
    const r = await withAgents(dir, () => cli(home, ['agents', 'install', 'openclaw@0.0.0-nemoclaw-test-missing']));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/agents install openclaw@0\.0\.0-nemoclaw-test-missing: npm install exited 1: .*(ETARGET|No matching version|notarget)/i);
    expect(readdirSync(join(dir, 'openclaw'))).toEqual([]);
  }, 60_000);

  it('refuses unknown agents and path-like versions as usage errors', async () => {
    const dir = scratchAgents();
    await withAgents(dir, async () => {
      const a = await cli(home, ['agents', 'install', 'hermes']);
      expect(a.code).toBe(2);
      expect(a.stderr).toContain('unknown agent "hermes"; known: openclaw');
      const b = await cli(home, ['agents', 'install', 'openclaw@../../etc']);
      expect(b.code).toBe(2);
      expect(b.stderr).toContain('bad version "../../etc"');
    });
    expect(readdirSync(dir)).toEqual([]);
  });
});
