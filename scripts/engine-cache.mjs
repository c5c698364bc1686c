// `node scripts/engine-cache.mjs BUILD`: writes BUILD/bundle/policy/engine.cache, the V8 code cache
// of the policy engine script (scripts/policy-engine.mjs says why), after a run over what the CLI's
// policy verbs do with it: every shipped blueprint and preset loaded and compiled, a policy
// explained, a broken one diagnosed. The cache then holds every function those runs compiled.
// Beside it, what the engine gave for each shipped preset (presetsMemoOf).
// build.mjs runs it on the Node that runs the CLI (a cache from another V8 is rejected) in the
// build's private folder, which is swapped in whole once done: a plain write is enough. Plain
// JavaScript.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENGINE_FILE, engineCacheOf, loadEngine, presetsMemoOf } from './policy-engine.mjs';

const [build] = process.argv.slice(2);
const engine = pathToFileURL(join(build, ENGINE_FILE));
// Nothing here needs the engine's lazy imports (src/state, for revisions).
const { exports: policy, script } = loadEngine(engine, {});

// Most of what the loader checks (docs/policy.md's example), so most of it is compiled.
const SAMPLE = `version: 1
filesystem_policy: { include_workdir: true, read_only: [/usr, /etc/ssl], read_write: [/tmp] }
landlock: { compatibility: hard_requirement }
process: { run_as_user: sandbox }
limits: { memory: 2GiB, pids: 512, nofile: 4096, file_size: 1GiB, wall_time: 90s, cpu: 150% }
exec: { allow: ["/usr/bin/*"], unmatched: ask }
syscalls: { deny: [ptrace], log: [connect] }
loopback: { bind: [18789], connect: [18789] }
network_policies:
  github_ro:
    endpoints:
      - { host: api.github.com, port: 443, protocol: rest, access: read-only, deny_rules: [{ method: "*", path: "/repos/*/*/rulesets/**" }] }
      - host: items.example.com
        ports: [443, 8443]
        protocol: rest
        rules: [{ allow: { method: GET, path: "/v1/items/*", query: { page: "[0-9]*" } } }]
        allowed_ips: [10.0.0.0/8]
    binaries: [{ path: /usr/bin/gh }]
  no_pastebin: { action: deny, endpoints: [{ host: "**.pastebin.com", port: 443 }] }
approvals: { unmatched_egress: ask, timeout: 60s, on_timeout: deny }
`;
const BROKEN = 'version: 1\nnetwork_policies:\n  x:\n    endpoints:\n      - host: "*.com"\n        port: 443\n  [oops\n';

policy.documentKind(SAMPLE);
const sample = policy.parsePolicy(SAMPLE, 'sample.yaml');
policy.renderExplanation(policy.explainPolicy(sample));
policy.compileSandboxSpec(sample);
policy.compileEgressRules(sample);
try {
  policy.parsePolicy(BROKEN, 'broken.yaml');
} catch (err) {
  if (!(err instanceof policy.PolicyError)) throw err;
  for (const d of err.diagnostics) policy.renderDiagnostic(d);
}
for (const name of await policy.listBlueprints()) {
  const bp = await policy.loadBlueprint(name);
  policy.compileSandboxSpec(policy.blueprintPolicy(bp));
  policy.blueprintDigest(bp);
}
// Each shipped preset's name and description as this engine read them, keyed by its exact text:
// `policy presets` lists a preset whose text is here without parsing it again (src/cli/presets.ts).
const presets = {};
for (const { name, description, file } of await policy.listPresets()) {
  await policy.loadPreset(name);
  presets[readFileSync(file, 'utf8')] = { name, description };
}

writeFileSync(engineCacheOf(engine), script.createCachedData());
writeFileSync(presetsMemoOf(engine), `${JSON.stringify(presets)}\n`);
