// dockerode costs a CLI process hundreds of milliseconds to load (bench/models-import.ts; it pulls
// in @grpc/grpc-js and ssh2 whatever the call): only the verbs that talk to the Docker engine may
// load it. A module hook in each child reports every dockerode file loaded; the verbs run on the
// sources entry as bin/nemoclaw falls back to it, each where it ends early and truthfully (no
// supervisor, no engine), which is where a lazy import is easiest to break.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, NODE } from '../supervisor/harness.ts';

const HOOK = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ load(url, ctx, next) { if (url.includes('/node_modules/dockerode/')) process.stderr.write('DOCKERODE-LOADED ' + url + '\\n'); return next(url, ctx); } });",
)}`;

const home = mkdtempSync(join(tmpdir(), 'nemoclaw-test-home-lazy-dockerode-'));
const ws = mkdtempSync(join(tmpdir(), 'nemoclaw-lazy-dockerode-ws-'));

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; loaded: boolean; stderr: string } {
  const r = spawnSync(NODE, ['--disable-warning=ExperimentalWarning', '--import', HOOK, MAIN, ...args], {
    env: { ...process.env, NEMOCLAW_HOME: home, DOCKER_HOST: `unix://${join(home, 'no-engine.sock')}`, ...env },
    encoding: 'utf8',
    input: '',
    timeout: 60_000,
  });
  return { status: r.status, loaded: r.stderr.includes('DOCKERODE-LOADED'), stderr: r.stderr };
}

describe('dockerode is loaded only by verbs that talk to the Docker engine', () => {
  it.each([
    [['--help']],
    [['doctor', '--json']],
    [['list', '--json']],
    [['models', '--help']],
    [['policy', 'validate', join(MAIN, '..', '..', '..', 'blueprints', 'strict.yaml')]],
    [['create', 'lazy-a', '--blueprint', 'strict', '--workspace', ws]],
    [['onboard', '--non-interactive', '--name', 'lazy-c', '--blueprint', 'strict', '--workspace', ws]],
    [['onboard', '--non-interactive', '--name', 'lazy-d', '--local-model', 'qwen2.5-7b', '--workspace', ws]],
  ])('nemoclaw %j does not load it', (args) => {
    const r = run(args);
    expect(r.status, r.stderr).not.toBeNull();
    expect(r.loaded, r.stderr).toBe(false);
  });

  it('nemoclaw models list loads it (the hook sees it), and says the engine is down in one line', () => {
    const r = run(['models', 'list']);
    expect(r.loaded).toBe(true);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nemoclaw: the Docker engine does not answer on .*no-engine\.sock \(ENOENT\)/);
  });
});
