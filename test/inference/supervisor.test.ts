// The router inside `nemoclaw serve`: providers added with the CLI (key from a variable and from
// stdin, listed by fingerprint only), a supervised sandbox whose curl reaches inference.local, and
// `nemoclaw inference set` on the running sandbox changing where its next request goes (no
// restart), with the route change and each request audited and on the bus.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from '../supervisor/harness.ts';
import { cli, events, freshHome, serveFresh } from '../supervisor/harness.ts';
import type { StandIn } from './stand-ins.ts';
import { startStandIn } from './stand-ins.ts';

const CLOUD_KEY = 'fake-cloud-key-sv-0123456789abcdef';
const NIM_KEY = 'stand-in-nim-key-sv-9876543210';

let sv: Served;
let ws: string;
let cloud: StandIn;
let nim: StandIn;

beforeAll(async () => {
  cloud = await startStandIn('fake-cloud-provider');
  nim = await startStandIn('stand-in-nim');
  ({ sv, ws } = await serveFresh());
});

afterAll(async () => {
  await sv?.stop();
  await cloud?.close();
  await nim?.close();
});

/** A file's bytes, or '' when it went away between the listing and the read (the audit LOCK comes and goes). */
function readOrEmpty(f: string): string {
  try {
    return readFileSync(f, 'latin1');
  } catch {
    return '';
  }
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('inference under the supervisor', () => {
  it('providers add/list/remove keep the key outside and show a fingerprint only', async () => {
    process.env.NC_TEST_CLOUD_KEY = CLOUD_KEY;
    const a = await cli(sv.home, ['providers', 'add', 'fake-cloud-provider', '--type', 'openai', '--url', cloud.url, '--location', 'cloud', '--credential-env', 'NC_TEST_CLOUD_KEY']);
    delete process.env.NC_TEST_CLOUD_KEY;
    expect(a.code, a.stderr).toBe(0);
    const b = await cli(sv.home, ['providers', 'add', 'stand-in-nim', '--type', 'nim', '--url', nim.url, '--credential-stdin'], `${NIM_KEY}\n`);
    expect(b.code, b.stderr).toBe(0);
    const junk = await cli(sv.home, ['providers', 'add', 'junk', '--type', 'openai', '--url', cloud.url]);
    expect(junk.code).toBe(0);
    const list = await cli(sv.home, ['providers', 'list', '--json']);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ name: string; location: string; key: string | null }>;
    expect(rows.map((r) => [r.name, r.location])).toEqual([
      ['fake-cloud-provider', 'cloud'],
      ['junk', 'local'],
      ['stand-in-nim', 'local'],
    ]);
    expect(rows[0]?.key).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(list.stdout + a.stdout + b.stdout).not.toContain(CLOUD_KEY);
    expect(list.stdout + a.stdout + b.stdout).not.toContain(NIM_KEY);
    const keyFile = join(sv.home, 'keys', 'providers', 'stand-in-nim.key');
    expect(readFileSync(keyFile, 'utf8')).toBe(NIM_KEY);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect((await cli(sv.home, ['providers', 'remove', 'junk'])).code).toBe(0);
    expect(existsSync(join(sv.home, 'inference', 'providers', 'junk.json'))).toBe(false);
    const t = await cli(sv.home, ['providers', 'test', 'stand-in-nim', '--json']);
    expect(t.code, t.stdout).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({ ok: true, status: 200, models: ['stand-in-nim-model'] });
    expect(nim.seen.at(-1)?.headers.authorization).toBe(`Bearer ${NIM_KEY}`);
  });

  it('inference set on a running sandbox changes where its next request goes', async () => {
    const body = JSON.stringify({ model: 'agent-model', messages: [{ role: 'user', content: 'ping' }] });
    // Each round waits for goN in the workspace, then calls inference.local once into outN.
    const round = (n: number) =>
      `i=0; while [ ! -e go${n} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; curl -sS -H 'content-type: application/json' -H 'Authorization: Bearer junk' -d '${body}' http://inference.local/v1/chat/completions > out${n}.tmp 2>&1; mv out${n}.tmp out${n}`;
    const set1 = await cli(sv.home, ['inference', 'set', '--sandbox', 'agent', '--provider', 'stand-in-nim', '--model', 'llama-local', '--alias', 'agent-model', '--mode', 'local-only']);
    expect(set1.code).toBe(4); // no such sandbox yet
    await sv.api.call('POST', '/v1/sandboxes', { name: 'agent', workspace: ws, command: ['/bin/sh', '-c', `${round(1)}; ${round(2)}; sleep 30`] });
    await waitFor(async () => ((await sv.api.call('GET', '/v1/sandboxes/agent')) as { sandbox: { state: string } }).sandbox.state === 'running', 'agent running');

    const a = await cli(sv.home, ['inference', 'set', '--sandbox', 'agent', '--provider', 'stand-in-nim', '--model', 'llama-local', '--alias', 'agent-model', '--mode', 'local-only']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('agent-model -> stand-in-nim/llama-local');
    writeFileSync(join(ws, 'go1'), '');
    const out1 = await waitFor(() => (existsSync(join(ws, 'out1')) ? readFileSync(join(ws, 'out1'), 'utf8') : null), 'the first answer', { withinMs: 20_000 });
    expect(out1).toContain('stand-in-nim got: ping');
    expect(nim.seen.at(-1)?.body?.model).toBe('llama-local');

    const b = await cli(sv.home, ['inference', 'set', '--sandbox', 'agent', '--provider', 'fake-cloud-provider', '--model', 'cloud-big', '--alias', 'agent-model', '--mode', 'cloud-allowed', '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ applied: true, route: { rev: 2, mode: 'cloud-allowed' } });
    const cloudBefore = cloud.seen.length;
    writeFileSync(join(ws, 'go2'), '');
    const out2 = await waitFor(() => (existsSync(join(ws, 'out2')) ? readFileSync(join(ws, 'out2'), 'utf8') : null), 'the second answer', { withinMs: 20_000 });
    expect(out2).toContain('fake-cloud-provider got: ping');
    expect(cloud.seen.length).toBe(cloudBefore + 1);
    expect(cloud.seen.at(-1)?.headers.authorization).toBe(`Bearer ${CLOUD_KEY}`);
    expect(cloud.seen.at(-1)?.body?.model).toBe('cloud-big');
    // Still the same run of the sandbox: no restart happened.
    const view = (await sv.api.call('GET', '/v1/sandboxes/agent')) as { sandbox: { state: string; restarts?: number } };
    expect(view.sandbox.state).toBe('running');

    const get = await cli(sv.home, ['inference', 'get', '--sandbox', 'agent', '--json']);
    expect(JSON.parse(get.stdout)).toMatchObject({ sandbox: 'agent', rev: 2, models: [{ alias: 'agent-model', provider: 'fake-cloud-provider', model: 'cloud-big' }] });

    const evs = await events(sv.api);
    expect(evs.filter((e) => e.type === 'inference.route').map((e) => (e as unknown as { rev: number }).rev)).toEqual([1, 2]);
    const reqs = evs.filter((e) => e.type === 'inference').map((e) => (e as unknown as { event: { provider: string; decision: string } }).event);
    expect(reqs.map((r) => [r.provider, r.decision])).toEqual([
      ['stand-in-nim', 'sent'],
      ['fake-cloud-provider', 'sent'],
    ]);
  });

  it("a new sandbox's route is seeded from create's inference choice; destroy forgets it", async () => {
    await sv.api.call('POST', '/v1/sandboxes', { name: 'seeded', workspace: ws, command: ['/bin/sh', '-c', 'sleep 30'], inference: { provider: 'stand-in-nim', credentialEnv: null, model: 'seed-model' } });
    const r = (await sv.api.call('GET', '/v1/sandboxes/seeded/inference')) as { route: { rev: number; mode: string; author: string; models: unknown[] } | null };
    expect(r.route).toMatchObject({ rev: 1, mode: 'cloud-with-redaction', author: 'create', models: [{ alias: 'seed-model', provider: 'stand-in-nim', model: 'seed-model' }] });
    // A provider nobody stored seeds nothing: the sandbox answers 503 no_route until `inference set`.
    await sv.api.call('POST', '/v1/sandboxes', { name: 'unseeded', workspace: ws, command: ['/bin/sh', '-c', 'sleep 30'], inference: { provider: 'nvidia', credentialEnv: null, model: 'm' } });
    expect(((await sv.api.call('GET', '/v1/sandboxes/unseeded/inference')) as { route: unknown }).route).toBeNull();
    await sv.api.call('DELETE', '/v1/sandboxes/seeded');
    await sv.api.call('DELETE', '/v1/sandboxes/unseeded');
    const all = (await sv.api.call('GET', '/v1/inference')) as { routes: Array<{ sandbox: string }> };
    expect(all.routes.map((x) => x.sandbox)).not.toContain('seeded');
    expect(existsSync(join(sv.home, 'inference', 'routes', 'seeded.json'))).toBe(false);
  });

  it('without a supervisor, inference set stores the route for the next start and audits it', async () => {
    const home = freshHome();
    expect((await cli(home, ['providers', 'add', 'stand-in-nim', '--type', 'nim', '--url', nim.url])).code).toBe(0);
    const unknown = await cli(home, ['inference', 'set', '--sandbox', 'later', '--provider', 'nobody', '--model', 'm']);
    expect(unknown.code).toBe(2);
    const r = await cli(home, ['inference', 'set', '--sandbox', 'later', '--provider', 'stand-in-nim', '--model', 'm1', '--mode', 'local-only', '--rpm', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no supervisor running: stored');
    const get = await cli(home, ['inference', 'get', '--json']);
    expect(JSON.parse(get.stdout)).toMatchObject([{ sandbox: 'later', rev: 1, mode: 'local-only', budget: { requestsPerMinute: 5 }, models: [{ alias: 'm1', provider: 'stand-in-nim', model: 'm1' }] }]);
    const audit = filesUnder(join(home, 'audit')).map(readOrEmpty).join('');
    expect(audit).toMatch(/"activity":"route_set"[^\n]*"sandbox":"later"/);
  });

  it('the key is nowhere the sandbox or an operator log can show it: not in audit, logs, routes or policy', async () => {
    await sv.api.call('DELETE', '/v1/sandboxes/agent');
    await waitFor(() => (filesUnder(join(sv.home, 'audit')).map(readOrEmpty).join('').match(/"activity":"route_set"/g)?.length ?? 0) >= 2, 'route changes audited');
    const audit = filesUnder(join(sv.home, 'audit'))
      .map(readOrEmpty)
      .join('');
    expect(audit).toContain('inference.decision');
    expect(audit).toMatch(/"activity":"provider_add"[^\n]*"target":"stand-in-nim"/);
    expect(audit).toMatch(/"activity":"provider_remove"[^\n]*"target":"junk"/);
    const everything = [
      ...filesUnder(join(sv.home, 'audit')),
      ...filesUnder(join(sv.home, 'inference')),
      ...(existsSync(join(sv.home, 'sandboxes')) ? filesUnder(join(sv.home, 'sandboxes')) : []),
    ]
      .map(readOrEmpty)
      .join('');
    expect(everything).not.toContain(CLOUD_KEY);
    expect(everything).not.toContain(NIM_KEY);
    expect(sv.output()).not.toContain(CLOUD_KEY);
    expect(sv.output()).not.toContain(NIM_KEY);
  });
});
