// What loading the models component costs a CLI process (issue 15; docs/benchmarks.md "Local
// models"): `node -e 0` against the same Node importing dockerode alone, dockerode as src/models
// loads it (src/models/dockerode.ts: its BuildKit session and SSH transport deferred to their
// first use), the models door with a Models made (dockerode and the rest) and its pure half
// (src/models/spec.ts: names, labels, the container spec; no dockerode), interleaved round by
// round in the same run so a busy host slows all alike. Only `nemoclaw models`, a blueprint that
// declares models and onboard's local choice pay the door; test/models/lazy-dockerode.test.ts
// checks every other verb never loads dockerode. Run: `npx node bench/models-import.ts [ROUNDS]`
// (default 15, at most 100).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './summary.ts';

const ROUNDS = Math.min(100, Math.max(1, Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 15)));
const root = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;

// The .ts cases pay Node's type stripping on top of what they load: their baseline is an empty
// .ts module. One compile cache for all, filled by the warm-up round, as bin/nemoclaw's would be.
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-models-import-'));
const emptyTs = join(scratch, 'empty.ts');
writeFileSync(emptyTs, 'export const x: number = 0;\n');
const env = { ...process.env, NODE_COMPILE_CACHE: join(scratch, 'compile-cache') };

const CASES: Array<{ name: string; code: string }> = [
  { name: 'node -e 0', code: '0' },
  { name: 'import an empty .ts', code: `await import(${JSON.stringify(emptyTs)})` },
  { name: 'import dockerode', code: "await import('dockerode')" },
  // As src/models loads it: its BuildKit session and docker-modem's SSH transport deferred.
  { name: 'dockerode via src/models/dockerode.ts', code: `(await import(${JSON.stringify(`${root}src/models/dockerode.ts`)})).loadDockerode()` },
  // The door loads dockerode when a Models is made (what every `nemoclaw models` verb does).
  { name: 'import src/models/index.ts', code: `new (await import(${JSON.stringify(`${root}src/models/index.ts`)})).Models(${JSON.stringify(scratch)})` },
  { name: 'import src/models/spec.ts', code: `await import(${JSON.stringify(`${root}src/models/spec.ts`)})` },
];

function once(code: string): number {
  const t0 = performance.now();
  const r = spawnSync(node, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`node -e ${code}: exit ${r.status}: ${String(r.stderr)}`);
  return performance.now() - t0;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
for (const c of CASES) once(c.code); // warm-up: page cache
for (let i = 0; i < ROUNDS; i++) for (const c of CASES) times.get(c.name)!.push(once(c.code));

rmSync(scratch, { recursive: true, force: true });
const base = median(times.get('node -e 0')!);
const baseTs = median(times.get('import an empty .ts')!);
process.stdout.write(`models import cost, ${ROUNDS} rounds interleaved, median wall time (Node ${process.version})\n`);
for (const c of CASES) {
  const m = median(times.get(c.name)!);
  const b = c.name.includes('.ts') && c.name !== 'import an empty .ts' ? baseTs : base;
  process.stdout.write(`  ${c.name.padEnd(38)} ${m.toFixed(0).padStart(5)} ms  (+${(m - b).toFixed(0)} ms over ${b === base ? 'node -e 0' : 'an empty .ts'}, ${(m / b).toFixed(2)}x)\n`);
}
const docker = median(times.get('import dockerode')!);
const door = median(times.get('import src/models/index.ts')!);
const spec = median(times.get('import src/models/spec.ts')!);
report({ bench: 'models-import', metric: 'import dockerode (added to node -e 0)', value: Math.round(docker - base), unit: 'ms', ratio: Number((docker / base).toFixed(2)), baseline: 'node -e 0' });
const deferred = median(times.get('dockerode via src/models/dockerode.ts')!);
report({ bench: 'models-import', metric: 'dockerode with its session and SSH transport deferred (added to an empty .ts)', value: Math.round(deferred - baseTs), unit: 'ms', ratio: Number((deferred / baseTs).toFixed(2)), baseline: 'import an empty .ts' });
report({ bench: 'models-import', metric: 'import the models door (added to an empty .ts)', value: Math.round(door - baseTs), unit: 'ms', ratio: Number((door / baseTs).toFixed(2)), baseline: 'import an empty .ts' });
report({ bench: 'models-import', metric: 'import src/models/spec.ts, no dockerode (added to an empty .ts)', value: Math.round(spec - baseTs), unit: 'ms', ratio: Number((spec / baseTs).toFixed(2)), baseline: 'import an empty .ts' });
