// `nemoclaw sandbox run` for the escape suite's pooled mode (test/escape/pooled.test.ts): the same
// policy compilation and runSandbox, but the sandbox is started pooled (native --await-argv, issue
// 23): built, enforced, verified and left waiting with no command; only then is it claimed with
// the probe's command. Each probe run gets a sandbox that waited in the pool first, so the suite
// shows a pooled sandbox stops what a fresh one stops.
//   node test/escape/pooled-run.ts --workspace DIR [--policy FILE] --events FILE -- CMD [ARGS...]
import { appendFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileSandboxSpec, loadPolicyFile } from '../../src/policy/index.ts';
import { defaultSandboxSpec, runSandbox } from '../../src/sandbox/index.ts';

/** How long the sandbox waits in the "pool" before the claim: long enough to be a real wait. */
const POOL_WAIT_MS = 50;

function parse(argv: string[]): { workspace: string; policy: string | null; events: string; command: string[] } {
  const at = argv.indexOf('--');
  const opts = at < 0 ? argv : argv.slice(0, at);
  const get = (name: string): string | null => {
    const i = opts.indexOf(name);
    return i >= 0 ? (opts[i + 1] ?? null) : null;
  };
  const workspace = get('--workspace');
  const events = get('--events');
  const command = at < 0 ? [] : argv.slice(at + 1);
  if (workspace === null || events === null || command.length === 0) {
    process.stderr.write('usage: pooled-run.ts --workspace DIR [--policy FILE] --events FILE -- CMD [ARGS...]\n');
    process.exit(2);
  }
  return { workspace, policy: get('--policy'), events, command };
}

const a = parse(process.argv.slice(2));
writeFileSync(a.events, '', { mode: 0o600 });
let sb: ReturnType<typeof runSandbox>;
try {
  // As `sandbox run` refuses them: an invalid policy, a refused workspace or binds, exit 125.
  const spec = a.policy !== null ? compileSandboxSpec(await loadPolicyFile(a.policy)) : defaultSandboxSpec();
  sb = runSandbox({
    spec,
    command: [],
    pooled: true,
    workspace: resolve(a.workspace),
    ...(a.policy !== null ? { obeys: [resolve(a.policy)] } : {}),
    onEvent: (e) => appendFileSync(a.events, `${JSON.stringify(e)}\n`),
  });
} catch (err) {
  process.stderr.write(`nemoclaw: sandbox not started: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(125);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => sb.kill(sig));
const ready = await sb.ready;
if (ready !== null) {
  await new Promise((r) => setTimeout(r, POOL_WAIT_MS));
  if (!sb.claim(a.command)) process.stderr.write('nemoclaw: the pooled sandbox could not be claimed\n');
}
const result = await sb.result;
if (result.failure !== null && !result.failurePrinted) process.stderr.write(`nemoclaw: sandbox not started: ${result.failure}\n`);
process.exitCode = result.status;
