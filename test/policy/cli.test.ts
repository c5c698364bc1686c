// Runs the real `bin/nemoclaw policy ...` (no mocks): exit codes, output formats, and the
// revision verbs against a temporary NEMOCLAW_HOME.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/nemoclaw');
const home = mkdtempSync(join(tmpdir(), 'nemoclaw-policy-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function nemoclaw(...args: string[]) {
  const r = spawnSync(bin, ['policy', ...args], { encoding: 'utf8', env: { ...process.env, NEMOCLAW_HOME: home }, cwd: home });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(home, name);
  writeFileSync(p, text);
  return p;
}

describe('nemoclaw policy validate', () => {
  it('accepts every shipped blueprint, preset and policy', () => {
    const files = ['openclaw', 'strict', 'dev'].map((b) => join(root, 'blueprints', `${b}.yaml`));
    const presets = ['npm', 'pypi', 'github-readonly', 'github-readwrite', 'huggingface', 'nvidia-inference', 'docker-hub', 'slack', 'discord', 'telegram', 'apt', 'brew'].map((p) => join(root, 'blueprints/presets', `${p}.yaml`));
    const r = nemoclaw('validate', ...files, ...presets, join(root, 'blueprints/policies/strict-base.yaml'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(files.length + presets.length + 1);
  });

  it('exits 1 with file:line:col, the snippet and a caret for each error', () => {
    const bad = file('bad.yaml', 'version: 1\nnetwork_policies:\n  x:\n    endpoints:\n      - host: "*.com"\n        port: 443\n        acess: full\n');
    const good = file('good.yaml', 'version: 1\n');
    const r = nemoclaw('validate', good, bad);
    expect(r.code).toBe(1);
    expect(r.out).toBe(`ok ${good} (policy)\n`);
    expect(r.err).toBe(
      [
        `${bad}:5:15: network_policies.x.endpoints[0].host: host "*.com": wildcard over a top-level domain (*.com) is too broad; name at least two labels after the wildcard`,
        '        - host: "*.com"',
        '                ^',
        `${bad}:7:9: network_policies.x.endpoints[0].acess: unknown key \`acess\``,
        '          acess: full',
        '          ^',
        '',
      ].join('\n'),
    );
  });

  it('reports a collection used as a key once, as an unknown key, without a Node process warning', () => {
    const odd = file('odd-key.yaml', 'version: 1\n? [a, b]\n: x\n');
    const r = nemoclaw('validate', odd);
    expect(r.code).toBe(1);
    // Where it points is the loader's (today the map holding the key, not the key itself).
    expect(r.err.split('\n')[0]).toMatch(/^.*odd-key\.yaml:\d+:\d+: \[ a, b \]: unknown key `\[ a, b \]`$/);
    expect(r.err).not.toContain('Warning');
    expect(r.err.split('\n')).toHaveLength(4);
  });

  it('reports a missing file and YAML syntax errors the same way, with --json too', () => {
    const syntax = file('syntax.yaml', 'version: 1\nlimits: [\n');
    const r = nemoclaw('validate', '--json', syntax, join(home, 'missing.yaml'));
    expect(r.code).toBe(1);
    const res = JSON.parse(r.out) as { file: string; ok: boolean; diagnostics: { line: number; col: number; message: string }[] }[];
    expect(res.map((x) => x.ok)).toEqual([false, false]);
    expect(res[0]?.diagnostics[0]?.line).toBeGreaterThanOrEqual(2);
    expect(res[1]?.diagnostics[0]).toMatchObject({ line: 1, col: 1, message: 'cannot read file (ENOENT)' });
  });
});

describe('nemoclaw policy explain / schema / presets', () => {
  it('explains a blueprint in plain language', () => {
    const r = nemoclaw('explain', join(root, 'blueprints/openclaw.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('inference.local:80: POST /v1/chat/completions');
    expect(r.out).toContain('Anything else is asked of the operator; unanswered after 2 min it is denied.');
  });

  it('prints a JSON Schema that rejects unknown keys', () => {
    const r = nemoclaw('schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.out) as { $schema: string; additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.$schema).toContain('json-schema.org');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['version', 'filesystem_policy', 'network_policies', 'approvals', 'exec', 'limits']));
    expect(JSON.parse(nemoclaw('schema', '--kind', 'blueprint').out).properties.agent).toBeDefined();
  });

  it('lists presets', () => {
    const r = nemoclaw('presets', '--json');
    expect((JSON.parse(r.out) as { name: string }[]).map((p) => p.name)).toEqual(expect.arrayContaining(['npm', 'slack', 'apt']));
  });
});

describe('nemoclaw policy simulate / learn', () => {
  const policy = file('sim.yaml', 'version: 1\napprovals: { unmatched_egress: ask }\nnetwork_policies:\n  gh:\n    endpoints: [{ host: api.github.com, port: 443, protocol: rest, access: read-only }]\n  blocked:\n    action: deny\n    endpoints: [{ host: evil.example.com, port: 443 }]\n');
  const trace = file(
    'trace.jsonl',
    [
      '{"type":"egress","url":"https://api.github.com/user","method":"GET","binary":"/usr/bin/gh"}',
      '{"type":"egress","url":"https://api.github.com/user/repos","method":"POST","binary":"/usr/bin/gh"}',
      '{"type":"egress","host":"evil.example.com","port":443,"binary":"/usr/bin/curl"}',
    ].join('\n'),
  );

  it('prints ALLOWED / ASK / BLOCKED per line with the rule', () => {
    const r = nemoclaw('simulate', '--policy', policy, '--trace', trace);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/trace\.jsonl:1: ALLOWED egress api\.github\.com:443 GET \/user by \/usr\/bin\/gh \[network_policies\.gh\.endpoints\[0\]\]/);
    expect(lines[1]).toMatch(/trace\.jsonl:2: ASK +egress api\.github\.com:443 POST \/user\/repos/);
    expect(lines[2]).toMatch(/trace\.jsonl:3: BLOCKED egress evil\.example\.com:443 \(connect\) by \/usr\/bin\/curl \[network_policies\.blocked\.endpoints\[0\]\]/);
    expect(lines[3]).toBe('1 allowed, 1 blocked, 1 asked, 0 audited, 0 unreadable');
  });

  it('--fail-on-block exits 1 when anything is blocked; --json is structured', () => {
    expect(nemoclaw('simulate', '--policy', policy, '--trace', trace, '--fail-on-block').code).toBe(1);
    const r = nemoclaw('simulate', '--policy', policy, '--trace', trace, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).counts).toEqual({ ALLOWED: 1, BLOCKED: 1, ASK: 1, AUDIT: 0, ERROR: 0 });
  });

  it('simulate reports an invalid policy with positions and exits 1', () => {
    const bad = file('simbad.yaml', 'version: 1\nnetwork: {}\n');
    const r = nemoclaw('simulate', '--policy', bad, '--trace', trace);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}:2:1: network: unknown key \`network\``);
  });

  it('learn writes a valid commented policy', () => {
    const out = join(home, 'learned.yaml');
    const r = nemoclaw('learn', '--events', trace, '-o', out);
    expect(r.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('# learned: 1 hit; connections only, no request inspected; by /usr/bin/curl (1)');
    expect(nemoclaw('validate', out).code).toBe(0);
    expect(nemoclaw('simulate', '--policy', out, '--trace', trace, '--fail-on-block').code).toBe(0);
  });
});

describe('nemoclaw policy revision verbs', () => {
  const base = file('base.yaml', '# base\nversion: 1\nfilesystem_policy: { read_only: [/usr], read_write: [/tmp] }\napprovals: { unmatched_egress: ask }\n');
  const S = ['--sandbox', 'web'];

  it('set, add, remove, history, diff, get, rollback', () => {
    expect(nemoclaw('history', ...S).out).toBe('');
    expect(nemoclaw('set', ...S, base, '--reason', 'initial', '--author', 'alice')).toMatchObject({ code: 0, out: 'revision 1 written\n' });
    // Where the supervisor reads the sandbox's revisions (sandboxes/<name>/policy/).
    expect(readFileSync(join(home, 'sandboxes', 'web', 'policy', 'revisions', '0001.yaml'), 'utf8')).toBe(readFileSync(base, 'utf8'));
    expect(nemoclaw('add', ...S, 'npm', 'github-readonly').out).toBe('added npm_registry, github_git_ro, github_api_ro; revision 2 written\n');
    expect(nemoclaw('add', ...S, '--host', 'api.example.com', '--port', '8443', '--binary', '/usr/bin/curl', '--access', 'read-only').out).toBe('added rule_api_example_com_8443; revision 3 written\n');
    expect(nemoclaw('add', ...S, '--host', '*.com').code).toBe(1);
    const extra = file('extra.yaml', 'version: 1\nnetwork_policies:\n  extra:\n    endpoints: [{ host: extra.example.com, port: 443 }]\n');
    expect(nemoclaw('add', ...S, extra).out).toBe('added extra; revision 4 written\n');
    expect(nemoclaw('remove', ...S, 'extra').out).toBe('removed extra; revision 5 written\n');
    expect(nemoclaw('remove', ...S, 'github-readonly').out).toBe('removed github_git_ro, github_api_ro; revision 6 written\n');

    const hist = JSON.parse(nemoclaw('history', ...S, '--json').out) as { rev: number; author: string; reason: string }[];
    expect(hist.map((h) => h.rev)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hist[0]).toMatchObject({ author: 'alice', reason: 'initial' });

    const diff = nemoclaw('diff', ...S);
    expect(diff.out).toContain('--- revision 5\n+++ revision 6\n');
    expect(diff.out).toContain('-  github_git_ro:');

    expect(nemoclaw('get', ...S, '--rev', '1').out).toBe(readFileSync(base, 'utf8'));
    const cur = JSON.parse(nemoclaw('get', ...S, '--json').out) as { meta: { rev: number }; policy: { network_policies: Record<string, unknown> } };
    expect(cur.meta.rev).toBe(6);
    expect(Object.keys(cur.policy.network_policies)).toEqual(['npm_registry', 'rule_api_example_com_8443']);

    // set would drop rules: refused without --yes, nothing written.
    const refused = nemoclaw('set', ...S, base);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('would drop:\n  - network_policies.npm_registry.endpoints[0] registry.npmjs.org:443');
    expect(refused.err).toContain('re-run with --yes');
    expect(nemoclaw('set', ...S, base, '--yes')).toMatchObject({ code: 0 });

    expect(nemoclaw('rollback', ...S, '2').out).toBe('revision 8 written (same text as revision 2)\n');
    expect(nemoclaw('diff', ...S, '2', '8').out).toBe('');
  });

  it('set from a blueprint records its digest as the source', () => {
    const r = nemoclaw('set', '--sandbox', 'bp', join(root, 'blueprints/dev.yaml'));
    expect(r.code).toBe(0);
    const hist = JSON.parse(nemoclaw('history', '--sandbox', 'bp', '--json').out) as { source?: string }[];
    expect(hist[0]?.source).toMatch(/^blueprint:dev@sha256:[0-9a-f]{64}$/);
  });

  it('needs --sandbox and a name the supervisor accepts (exit 2)', () => {
    expect(nemoclaw('history').code).toBe(2);
    // A path, upper case, '_' or '.', and a nemoclaw verb: the supervisor refuses to create any of them.
    for (const bad of ['../etc', 'Web', 'my_box', 'a.b', 'demo']) {
      const r = nemoclaw('history', '--sandbox', bad);
      expect(r.code).toBe(2);
      expect(r.err).toContain("lower-case letters, digits and '-'");
    }
  });
});
