import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  blueprintDigest,
  blueprintPolicy,
  blueprintsDir,
  compileEgressRules,
  compileSandboxSpec,
  decideEgress,
  listBlueprints,
  listPresets,
  loadBlueprint,
  loadPreset,
  parsePolicy,
  PolicyError,
} from './index.ts';

const REQUIRED_PRESETS = ['npm', 'pypi', 'github-readonly', 'github-readwrite', 'huggingface', 'nvidia-inference', 'docker-hub', 'slack', 'discord', 'telegram', 'apt'];

describe('presets', () => {
  it('ships at least the required presets, each loading with a header', async () => {
    const list = await listPresets();
    expect(list.length).toBeGreaterThanOrEqual(10);
    for (const name of REQUIRED_PRESETS) expect(list.map((p) => p.name)).toContain(name);
    for (const p of list) {
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.file.endsWith(`${p.name}.yaml`)).toBe(true);
    }
  });

  it.each(REQUIRED_PRESETS)('%s merges into a valid policy', async (name) => {
    const p = await loadPreset(name);
    const policy = parsePolicy(JSON.stringify({ version: 1, network_policies: p.network_policies }), `${name}.json`);
    expect(compileEgressRules(policy).size).toBeGreaterThan(0);
  });

  it('presets decide as their comments say', async () => {
    const merged = { version: 1 as const, network_policies: {} as Record<string, unknown> };
    for (const name of ['npm', 'pypi', 'github-readonly', 'apt', 'telegram']) Object.assign(merged.network_policies, (await loadPreset(name)).network_policies);
    const rules = compileEgressRules(parsePolicy(JSON.stringify(merged), 'merged.json'));
    const d = (host: string, port: number, binary: string | null, method?: string, path?: string) =>
      decideEgress(rules, { host, port, binary, ...(method ? { method, path: path ?? '/' } : {}) }).verdict;
    expect(d('registry.npmjs.org', 443, '/usr/bin/node', 'GET', '/left-pad')).toBe('allow');
    expect(d('registry.npmjs.org', 443, '/usr/bin/node', 'PUT', '/left-pad')).toBe('deny');
    expect(d('registry.npmjs.org', 443, '/usr/bin/curl')).toBe('deny');
    expect(d('files.pythonhosted.org', 443, '/usr/bin/python3.11', 'GET', '/packages/x.whl')).toBe('allow');
    expect(d('github.com', 443, '/usr/lib/git-core/git-remote-https', 'POST', '/nvidia/nemoclaw.git/git-upload-pack')).toBe('allow');
    expect(d('github.com', 443, '/usr/lib/git-core/git-remote-https', 'POST', '/nvidia/nemoclaw.git/git-receive-pack')).toBe('deny');
    expect(d('api.github.com', 443, null, 'GET', '/repos/nvidia/nemoclaw')).toBe('allow');
    expect(d('deb.debian.org', 80, '/usr/lib/apt/methods/http', 'GET', '/debian/dists/bookworm/InRelease')).toBe('allow');
    expect(d('api.telegram.org', 443, null, 'POST', '/bot123:abc/sendMessage')).toBe('allow');
    expect(d('api.telegram.org', 443, null, 'POST', '/other')).toBe('deny');
  });

  it('github-readwrite allows push and denies secrets even with write access', async () => {
    const p = await loadPreset('github-readwrite');
    const rules = compileEgressRules(parsePolicy(JSON.stringify({ version: 1, network_policies: p.network_policies }), 'gh.json'));
    expect(decideEgress(rules, { host: 'github.com', port: 443, binary: '/usr/bin/git', method: 'POST', path: '/o/r.git/git-receive-pack' }).verdict).toBe('allow');
    expect(decideEgress(rules, { host: 'api.github.com', port: 443, binary: null, method: 'PUT', path: '/repos/o/r/actions/secrets/TOKEN' }).verdict).toBe('deny');
    expect(decideEgress(rules, { host: 'api.github.com', port: 443, binary: null, method: 'DELETE', path: '/repos/o/r' }).verdict).toBe('deny');
  });

  it('unknown preset names say which exist', async () => {
    await expect(loadPreset('nope')).rejects.toThrow(/known presets: .*npm/);
  });
});

describe('blueprints', () => {
  it('ships openclaw, strict and dev', async () => {
    expect(await listBlueprints()).toEqual(expect.arrayContaining(['dev', 'openclaw', 'strict']));
  });

  it.each(['openclaw', 'strict', 'dev'])('%s loads, composes a valid policy and records its digest', async (name) => {
    const bp = await loadBlueprint(name);
    expect(bp.spec.name).toBe(name);
    expect(bp.spec.version).toMatch(/^\d+\.\d+\.\d+/);
    const bytes = await readFile(join(blueprintsDir(), `${name}.yaml`));
    expect(blueprintDigest(bp)).toBe(createHash('sha256').update(bytes).digest('hex'));
    const policy = blueprintPolicy(bp);
    // The composed policy must itself pass the schema.
    parsePolicy(JSON.stringify(policy), `${name}-composed.json`);
    expect(compileSandboxSpec(policy).landlock).toBe('hard_requirement');
  });

  it('openclaw: inference router allowed, everything else asked', async () => {
    const rules = compileEgressRules(blueprintPolicy(await loadBlueprint('openclaw')));
    expect(decideEgress(rules, { host: 'inference.local', port: 80, binary: null, method: 'POST', path: '/v1/chat/completions' }).verdict).toBe('allow');
    expect(decideEgress(rules, { host: 'api.github.com', port: 443, binary: null }).verdict).toBe('ask');
  });

  it('strict: no egress and no asks', async () => {
    const policy = blueprintPolicy(await loadBlueprint('strict'));
    const rules = compileEgressRules(policy);
    expect(decideEgress(rules, { host: 'api.github.com', port: 443, binary: null }).verdict).toBe('deny');
    expect(compileSandboxSpec(policy).exec.unmatched).toBe('deny');
  });

  it('dev: registries and github read-only allowed, push asked', async () => {
    const rules = compileEgressRules(blueprintPolicy(await loadBlueprint('dev')));
    expect(decideEgress(rules, { host: 'pypi.org', port: 443, binary: '/usr/bin/python3', method: 'GET', path: '/simple/requests/' }).verdict).toBe('allow');
    expect(decideEgress(rules, { host: 'github.com', port: 443, binary: '/usr/bin/git', method: 'POST', path: '/o/r.git/git-receive-pack' }).verdict).toBe('ask');
  });

  it('blueprint errors are positioned, and conflicting rule names are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nemoclaw-bp-'));
    try {
      const bad = join(dir, 'bad.yaml');
      const text = (await readFile(join(blueprintsDir(), 'dev.yaml'), 'utf8')).replace('version: 0.1.0', 'version: one');
      await writeFile(bad, text);
      const err = await loadBlueprint(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).message).toMatch(/bad\.yaml:\d+:10: version: version must be semver/);
      const clash = join(dir, 'clash.yaml');
      await writeFile(clash, text.replace('version: one', 'version: 1.0.0').replace('inference_router:', 'pypi:'));
      await expect(loadBlueprint(clash).then(blueprintPolicy)).rejects.toThrow(/rule pypi from the blueprint conflicts/);
      const unknown = join(dir, 'unknown.yaml');
      await writeFile(unknown, text.replace('version: one', 'version: 1.0.0').replace('presets: [npm, pypi, github-readonly]', 'presets: [npm, nope]'));
      await expect(loadBlueprint(unknown)).rejects.toThrow(/unknown\.yaml:\d+:\d+: policy\.presets\[1\]: no preset "nope"; known presets: apt/);
      const nobase = join(dir, 'nobase.yaml');
      await writeFile(nobase, text.replace('version: one', 'version: 1.0.0').replace('base: default', 'base: missing.yaml'));
      await expect(loadBlueprint(nobase)).rejects.toThrow(/nobase\.yaml:\d+:9: policy\.base: cannot read .*missing\.yaml \(ENOENT\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

