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
  "import { registerHooks } from 'node:module'; registerHooks({ load(url, ctx, next) { if (url.includes('/node_modules/dockerode/')) process.stderr.write('DOCKERODE-LOADED ' + url + '\\n'); if (/\\/node_modules\\/(@grpc\\/|protobufjs\\/|ssh2\\/)/.test(url)) process.stderr.write('DEFERRED-LOADED ' + url + '\\n'); return next(url, ctx); } });",
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
    // Without dockerode's BuildKit session (gRPC, protobuf) or docker-modem's SSH transport
    // (src/models/dockerode.ts): the hook would see them load.
    expect(r.stderr).not.toMatch(/DEFERRED-LOADED/);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nemoclaw: the Docker engine does not answer on .*no-engine\.sock \(ENOENT\)/);
  });
});

// The parts src/models/dockerode.ts defers still run, as the packages' own code, when called: each
// check in a fresh process (a test worker may have loaded dockerode already, and then nothing is
// deferred), which reports what it saw as JSON.
describe('the deferred parts of dockerode', () => {
  const probe = (body: string): Record<string, unknown> => {
    const code = `import { createRequire } from 'node:module';
import { DEFERRED, loadDockerode } from ${JSON.stringify(new URL('../../src/models/dockerode.ts', import.meta.url).pathname)};
const Docker = loadDockerode();
const fromDockerode = createRequire(createRequire(import.meta.url).resolve('dockerode'));
const files = DEFERRED.map((d) => fromDockerode.resolve(d.id));
const loaded = () => Object.keys(fromDockerode.cache).filter((f) => /\\/node_modules\\/(@grpc|protobufjs|ssh2)\\//.test(f)).length;
const out = { docker: typeof Docker, before: loaded() };
${body}
process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(NODE, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it("docker-modem's SSH transport loads ssh2 at its first call and returns its agent", () => {
    const out = probe(`const agent = fromDockerode(files[1])({ host: '127.0.0.1', port: 1 });
out.agent = typeof agent.createConnection;
out.real = fromDockerode.cache[files[1]].exports.toString().includes('docker system dial-stdio');
out.after = loaded();`);
    expect(out).toMatchObject({ docker: 'function', before: 0, agent: 'function', real: true });
    expect(out.after).toBeGreaterThan(0);
  });

  it("dockerode's BuildKit session runs its own code at its first call (here: the dial fails and the handler hears it)", () => {
    const out = probe(`await new Promise((done) => fromDockerode(files[0])({ modem: { dial: (_o, cb) => cb(new Error('no engine here')) } }, {}, (err) => { out.err = err.message; done(); }));
out.after = loaded();`);
    expect(out).toMatchObject({ docker: 'function', before: 0, err: 'no engine here' });
    expect(out.after).toBeGreaterThan(0);
  });
});
