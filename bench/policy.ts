// Egress decision latency for a 500-rule policy (target: p99 < 10 µs per decision).
// Run: node bench/policy.ts   (Node 24 strips the types; no build step)
// Prints p50/p99/p99.9 of decideEgress over a mix of connection-level and request-level lookups
// (exact hosts, wildcards, misses, REST rules with deny rules and query constraints), and the same
// mix through a naive linear scan over all endpoints as the in-run baseline.
import { compileEgressRules, decideEgress, hostMatches, parseHostPattern, parsePolicy } from '../src/policy/index.ts';
import type { EgressRequest, HostPattern } from '../src/policy/index.ts';
import { report } from './summary.ts';

const RULES = 500;
const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 200_000);

function buildPolicy(): string {
  const lines = ['version: 1', 'approvals: { unmatched_egress: ask }', 'network_policies:'];
  for (let i = 0; i < RULES; i++) {
    lines.push(`  r${i}:`, '    endpoints:');
    switch (i % 5) {
      case 0:
        lines.push(`      - { host: api${i}.example.com, port: 443 }`);
        break;
      case 1:
        lines.push(`      - { host: "*.svc${i}.example.net", port: 443 }`);
        break;
      case 2:
        lines.push(`      - { host: "**.cdn${i}.example.org", ports: [80, 443] }`);
        break;
      case 3:
        lines.push(
          `      - host: rest${i}.example.com`,
          '        port: 443',
          '        protocol: rest',
          '        access: read-only',
          '        deny_rules: [{ method: "*", path: "/admin/**" }]',
        );
        break;
      default:
        lines.push(
          `      - host: q${i}.example.com`,
          '        port: 443',
          '        protocol: rest',
          '        rules:',
          '          - allow: { method: GET, path: "/v1/items/*", query: { page: "[0-9]*" } }',
          '          - allow: { method: POST, path: "/v1/items" }',
        );
    }
    lines.push('    binaries: [{ path: /usr/bin/curl }, { path: "/usr/lib/node*/bin/*" }]');
  }
  return `${lines.join('\n')}\n`;
}

function requests(): EgressRequest[] {
  const out: EgressRequest[] = [];
  for (let i = 0; i < 1000; i++) {
    const n = (i * 37) % RULES;
    const bin = i % 3 === 0 ? '/usr/bin/curl' : i % 3 === 1 ? '/usr/lib/node24/bin/node' : '/usr/bin/wget';
    switch (n % 5) {
      case 0:
        out.push({ host: `api${n}.example.com`, port: 443, binary: bin });
        break;
      case 1:
        out.push({ host: `x.svc${n}.example.net`, port: 443, binary: bin });
        break;
      case 2:
        out.push({ host: `a.b.cdn${n}.example.org`, port: 80, binary: bin });
        break;
      case 3:
        out.push({ host: `rest${n}.example.com`, port: 443, binary: bin, method: i % 2 ? 'GET' : 'POST', path: i % 4 ? '/repos/x' : '/admin/users' });
        break;
      default:
        out.push({ host: `q${n}.example.com`, port: 443, binary: bin, method: 'GET', path: '/v1/items/42', query: 'page=3&x=1' });
    }
    if (i % 10 === 0) out.push({ host: `miss${i}.nowhere.test`, port: 443, binary: bin });
  }
  return out;
}

function percentiles(samples: Float64Array): { p50: number; p99: number; p999: number } {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

function measure(label: string, reqs: EgressRequest[], fn: (r: EgressRequest) => unknown): { p50: number; p99: number; p999: number } {
  for (let i = 0; i < 20_000; i++) fn(reqs[i % reqs.length] as EgressRequest); // warm-up (JIT)
  const samples = new Float64Array(ITERATIONS);
  let sink = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const req = reqs[i % reqs.length] as EgressRequest;
    const t0 = process.hrtime.bigint();
    const d = fn(req);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000; // µs
    if (d) sink++;
  }
  const p = percentiles(samples);
  console.log(`${label.padEnd(28)} p50 ${p.p50.toFixed(2)} µs   p99 ${p.p99.toFixed(2)} µs   p99.9 ${p.p999.toFixed(2)} µs   (${ITERATIONS} decisions, ${sink > 0 ? 'ok' : '?'})`);
  return p;
}

const text = buildPolicy();
const t0 = performance.now();
const policy = parsePolicy(text, 'bench.yaml');
const t1 = performance.now();
const rules = compileEgressRules(policy);
const t2 = performance.now();
console.log(`policy: ${RULES} rules, ${rules.size} endpoint entries; parse+validate ${(t1 - t0).toFixed(1)} ms, compile ${(t2 - t1).toFixed(1)} ms`);

const reqs = requests();
const fast = measure('decideEgress (compiled)', reqs, (r) => decideEgress(rules, r));

// Baseline: the obvious implementation, scanning every endpoint's pattern for each request.
const flat: { pattern: HostPattern; ports: number[] }[] = [];
for (const np of Object.values(policy.network_policies ?? {})) {
  for (const e of np.endpoints) {
    const p = parseHostPattern(e.host);
    if (p.ok) flat.push({ pattern: p.pattern, ports: e.ports ?? [e.port as number] });
  }
}
const slow = measure('linear scan (baseline)', reqs, (r) => flat.find((f) => f.ports.includes(r.port) && hostMatches(f.pattern, r.host)));

console.log(`p99 ratio baseline/compiled: ${(slow.p99 / fast.p99).toFixed(1)}x; target p99 < 10 µs: ${fast.p99 < 10 ? 'met' : 'NOT met'}`);
report({ bench: 'policy', metric: `egress decision p99, ${RULES} rules`, value: fast.p99, unit: 'µs', ratio: fast.p99 / slow.p99, baseline: 'linear scan', target: '< 10 µs', met: fast.p99 < 10 });
