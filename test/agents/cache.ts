// The real OpenClaw (the pinned version), installed once per machine into a directory the tests
// own and reused by every later run while it still verifies (`agents install` runs the agent's
// --version check before answering "already installed", and reinstalls a damaged one). About
// 650 MB and ~30-45 s cold with the npm registry reachable; seconds when warm.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { cli, freshHome, serve, workspace } from '../supervisor/harness.ts';
import type { Served } from '../supervisor/harness.ts';

export const TEST_CACHE = '/var/cache/nemoclaw-test';
export const AGENTS_CACHE = join(TEST_CACHE, 'agents');

/** Installs (or re-verifies) the pinned OpenClaw in the test cache; returns the `agents install --json` answer. */
export async function cachedOpenClaw(home: string): Promise<{ already: boolean; ms: number; install: { dir: string; version: string; node: string; entry: string } }> {
  mkdirSync(AGENTS_CACHE, { recursive: true });
  const saved = process.env.NEMOCLAW_AGENTS_DIR;
  process.env.NEMOCLAW_AGENTS_DIR = AGENTS_CACHE;
  try {
    const r = await cli(home, ['agents', 'install', 'openclaw', '--json']);
    expect(r.code, `agents install openclaw: ${r.stdout}${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  } finally {
    if (saved === undefined) delete process.env.NEMOCLAW_AGENTS_DIR;
    else process.env.NEMOCLAW_AGENTS_DIR = saved;
  }
}

/**
 * For this test file: NEMOCLAW_AGENTS_DIR points at the cache from the first hook on (the CLI
 * children and in-process supervisors inherit it), and is put back after the last.
 */
export function useAgentsCache(): void {
  const saved = process.env.NEMOCLAW_AGENTS_DIR;
  beforeAll(() => {
    process.env.NEMOCLAW_AGENTS_DIR = AGENTS_CACHE;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.NEMOCLAW_AGENTS_DIR;
    else process.env.NEMOCLAW_AGENTS_DIR = saved;
  });
}

/** Registers the stand-in model as provider `fake-cloud-model` (cloud); its key reaches the CLI only through its environment. */
export async function addStandInProvider(home: string, url: string, key: string): Promise<void> {
  process.env.NC_TEST_FAKE_CLOUD_KEY = key;
  try {
    const add = await cli(home, ['providers', 'add', 'fake-cloud-model', '--type', 'openai-compatible', '--url', url, '--location', 'cloud', '--credential-env', 'NC_TEST_FAKE_CLOUD_KEY']);
    expect(add.code, add.stderr).toBe(0);
  } finally {
    delete process.env.NC_TEST_FAKE_CLOUD_KEY;
  }
}

/**
 * A fresh home with its supervisor, the stand-in as provider `fake-cloud-model`, and sandbox `oc`
 * onboarded from the openclaw blueprint (onboard waits for the agent to be ready). A failed
 * onboard stops the supervisor before the test fails, so nothing outlives the file.
 */
export async function onboardedAgent(modelUrl: string, key: string): Promise<{ sv: Served; ws: string }> {
  const home = freshHome();
  const ws = workspace(home);
  const sv = await serve(home);
  try {
    await addStandInProvider(sv.home, modelUrl, key);
    const ob = await cli(sv.home, ['onboard', '--non-interactive', '--name', 'oc', '--blueprint', 'openclaw', '--provider', 'fake-cloud-model', '--model', 'fake-model', '--credential-env', '-', '--workspace', ws]);
    expect(ob.code, `${ob.stdout}${ob.stderr}`).toBe(0);
  } catch (err) {
    await sv.stop();
    throw err;
  }
  return { sv, ws };
}
