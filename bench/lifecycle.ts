// Supervisor lifecycle costs, measured side by side in one run (run: node bench/lifecycle.ts on
// the project's Node 24, e.g. `npx node bench/lifecycle.ts`; first arg: N, default 20). Rows:
//   baseline      native/build/nemoclaw-sandbox with the default policy's binds on /bin/true
//                 (a bare sandbox start and end: the floor for anything the supervisor does)
//   create        POST /v1/sandboxes (policy revision, state files, egress proxy, helper) until
//                 the answer says running (the sandbox is verified ready); target median < 100 ms
//   create-pooled the same create on a second supervisor whose config.json keeps one sandbox of
//                 the default policy warm per workspace (issue 23): the create takes it (the
//                 pool is refilled, untimed, before the next round); target median < 20 ms
//   exec          POST .../exec (upgrade) -> exit frame of /bin/true in the running sandbox;
//                 target median < 30 ms
//   exec-direct   the same request straight on the sandbox's exec socket (no API hop)
//   events/s      bus.publish -> NDJSON over the API socket -> client, vs. the same bytes written
//                 straight to a unix socket (baseline)
// Ratios are printed against the baseline rows. The supervisor runs in this process, with a
// private NEMOCLAW_HOME in /tmp.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSandboxSpec, helperPath } from '../src/sandbox/index.ts';
import { bareHelperArgv } from './helper-argv.ts';
import { ApiClient, FrameParser, startSupervisor } from '../src/supervisor/index.ts';
import { openExec } from '../src/supervisor/exec.ts';
import { report } from './summary.ts';

const N = Number(process.argv[2] ?? 20);
const home = mkdtempSync(join(tmpdir(), 'ncb-'));
const workspace = mkdtempSync(join(tmpdir(), 'ncb-ws-')); // outside NEMOCLAW_HOME, as src/sandbox requires
process.env.NEMOCLAW_HOME = home;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

// ---- baseline: a bare helper start on /bin/true ------------------------------------------------
const helperArgs = bareHelperArgv(defaultSandboxSpec(), workspace, ['/bin/true']);
function bare(): number {
  const t0 = now();
  const r = spawnSync(helperPath(), helperArgs, { stdio: ['ignore', 'ignore', 'pipe'], env: {}, cwd: '/' });
  if (r.status !== 0) throw new Error(`helper: ${String(r.stderr)}`);
  return now() - t0;
}

const sup = await startSupervisor({ home, onWarning: () => {} });
const api = new ApiClient(sup.apiSocket);
// The pooled row's supervisor: its own home (one supervisor per home) and workspace.
const poolHome = mkdtempSync(join(tmpdir(), 'ncbp-'));
const poolWorkspace = mkdtempSync(join(tmpdir(), 'ncbp-ws-'));
writeFileSync(join(poolHome, 'config.json'), JSON.stringify({ pool: { default: 1 } }));
const supPooled = await startSupervisor({ home: poolHome, onWarning: () => {} });
const apiPooled = new ApiClient(supPooled.apiSocket);

/** Waits (untimed, bounded to 30 s) until the pooled supervisor has a warm sandbox again. */
async function warmed(): Promise<void> {
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    const last = supPooled.bus.since(0).filter((e) => e.type === 'pool.changed').at(-1) as { warm?: number } | undefined;
    if (last?.warm === 1) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the pool did not refill within 30 s');
}

async function execOnce(name: string): Promise<number> {
  const t0 = now();
  const { socket, head } = await api.exec(name, { argv: ['/bin/true'], tty: false });
  await new Promise<void>((done, fail) => {
    let ok = false;
    const p = new FrameParser((f) => {
      if (f.type === 'x') ok = true;
    });
    p.push(head);
    socket.on('data', (c: Buffer) => p.push(c));
    socket.on('close', () => (ok ? done() : fail(new Error('exec: no exit frame'))));
  });
  return now() - t0;
}

async function execDirect(path: string): Promise<number> {
  const t0 = now();
  const s = await openExec(path, { argv: ['/bin/true'], tty: false });
  await new Promise<void>((done) => {
    const p = new FrameParser((f) => {
      if (f.type === 'x') s.destroy();
    });
    s.on('data', (c: Buffer) => p.push(c));
    s.on('close', () => done());
  });
  return now() - t0;
}

try {
  // warm up every path once (imports, CA, page cache)
  bare();
  const w = await api.call<{ sandbox: { state: string; lastExit: unknown } }>('POST', '/v1/sandboxes', { name: 'warm', workspace, command: ['sleep', '100000'] });
  if (w.sandbox.state !== 'running') throw new Error(`warm: ${JSON.stringify(sup.bus.since(0).filter((e) => e.type === 'sandbox.state' || e.type === 'helper'))}`);
  await execOnce('warm');

  // The first create of the pooled supervisor is fresh: it makes the workspace a pooled one.
  const wp = await apiPooled.call<{ sandbox: { state: string } }>('POST', '/v1/sandboxes', { name: 'warm', workspace: poolWorkspace, command: ['sleep', '100000'] });
  if (wp.sandbox.state !== 'running') throw new Error(`pooled warm: ${wp.sandbox.state}`);

  await warmed();
  const base: number[] = [];
  const create: number[] = [];
  const pooled: number[] = [];
  for (let i = 0; i < N; i++) {
    base.push(bare());
    const t0 = now();
    const r = await api.call<{ sandbox: { state: string } }>('POST', '/v1/sandboxes', { name: `b${i}`, workspace, command: ['sleep', '100000'] });
    create.push(now() - t0);
    if (r.sandbox.state !== 'running') throw new Error(`b${i}: ${r.sandbox.state}`);
    const t1 = now();
    const p = await apiPooled.call<{ sandbox: { state: string } }>('POST', '/v1/sandboxes', { name: `p${i}`, workspace: poolWorkspace, command: ['sleep', '100000'] });
    pooled.push(now() - t1);
    if (p.sandbox.state !== 'running') throw new Error(`p${i}: ${p.sandbox.state}`);
    // The refill (a proxy and a helper, on this process's event loop) must not run during the
    // next round's timed rows.
    await warmed();
  }
  const exec: number[] = [];
  const direct: number[] = [];
  const execSock = sup.lifecycle.execSocket('warm');
  for (let i = 0; i < N * 2; i++) {
    exec.push(await execOnce('warm'));
    direct.push(await execDirect(execSock));
  }
  for (let i = 0; i < N; i++) await api.call('DELETE', `/v1/sandboxes/b${i}`);
  for (let i = 0; i < N; i++) await apiPooled.call('DELETE', `/v1/sandboxes/p${i}`);

  // ---- events per second -------------------------------------------------------------------------
  const M = 200_000;
  let got = 0;
  let t0 = now();
  let finish: () => void = () => {};
  const all = new Promise<void>((r) => (finish = r));
  const from = sup.bus.nextSeq - 1;
  let lost = 0;
  const stream = api.stream(`/v1/events?since=${from}&follow=1&types=log`, (e) => {
    if (e.type === 'stream.dropped') lost += Number(e.count);
    else got++;
    if (got + lost >= M) finish();
  });
  await new Promise((r) => setTimeout(r, 50));
  t0 = now();
  for (let i = 0; i < M; i++) {
    sup.bus.publish('warm', { type: 'log', stream: 'stdout', line: `line ${i} of the benchmark` });
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // a producer that yields, like the helper's pipe
  }
  await all;
  const busMs = now() - t0;
  stream.abort();
  const dropped = lost;

  // baseline: the same NDJSON bytes written straight to a unix socket and counted by lines
  const sample = JSON.stringify({ seq: 1, ts: new Date().toISOString(), sandbox: 'warm', type: 'log', stream: 'stdout', line: 'line 0 of the benchmark' });
  const sockPath = join(home, 'raw.sock');
  const server = createServer((c) => {
    let i = 0;
    const pump = (): void => {
      while (i < M) {
        i++;
        if (!c.write(`${sample}\n`)) return void c.once('drain', pump);
      }
      c.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(sockPath, () => r()));
  const t1 = now();
  await new Promise<void>((done) => {
    let lines = 0;
    const c = connect(sockPath);
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      for (let k = d.indexOf('\n'); k >= 0; k = d.indexOf('\n', k + 1)) lines++;
    });
    c.on('end', () => {
      if (lines !== M) throw new Error(`raw: ${lines}`);
      done();
    });
  });
  const rawMs = now() - t1;
  server.close();

  const mb = median(base);
  const mc = median(create);
  const mp = median(pooled);
  const me = median(exec);
  const md = median(direct);
  const row = (name: string, ms: number, note: string): string => `${name.padEnd(14)} ${ms.toFixed(1).padStart(8)} ms  ${note}\n`;
  process.stdout.write(`bench/lifecycle: N=${N} (exec ${N * 2}), medians\n`);
  process.stdout.write(row('baseline', mb, 'bare helper start+end of /bin/true'));
  process.stdout.write(row('create', mc, `create-to-running, ratio ${(mc / mb).toFixed(2)}x baseline (target < 100 ms: ${mc < 100 ? 'met' : 'NOT met'})`));
  process.stdout.write(row('create-pooled', mp, `the same create taking a warm sandbox, ratio ${(mp / mc).toFixed(2)}x the fresh create (target < 20 ms: ${mp < 20 ? 'met' : 'NOT met'})`));
  process.stdout.write(row('exec', me, `exec of /bin/true via the API, ratio ${(me / mb).toFixed(2)}x baseline (target < 30 ms: ${me < 30 ? 'met' : 'NOT met'})`));
  process.stdout.write(row('exec-direct', md, `same on the exec socket, API hop costs ${(me - md).toFixed(1)} ms`));
  const busRate = got / (busMs / 1000);
  const rawRate = M / (rawMs / 1000);
  report({ bench: 'lifecycle', metric: 'create to running (median)', value: mc, unit: 'ms', ratio: mc / mb, baseline: 'bare helper start', target: '< 100 ms', met: mc < 100 });
  report({ bench: 'lifecycle', metric: 'create to running, pooled (median)', value: mp, unit: 'ms', ratio: mp / mc, baseline: 'fresh create', target: '< 20 ms', met: mp < 20 });
  report({ bench: 'lifecycle', metric: 'exec via the API (median)', value: me, unit: 'ms', ratio: me / mb, baseline: 'bare helper start', target: '< 30 ms', met: me < 30 });
  process.stdout.write(`events/s       ${Math.round(busRate).toString().padStart(8)}      bus -> API stream -> client (${got} of ${M} delivered, ${dropped} dropped), ratio ${(busRate / rawRate).toFixed(2)} of raw socket (${Math.round(rawRate)}/s)\n`);
} finally {
  await sup.close('bench');
  await supPooled.close('bench');
  rmSync(home, { recursive: true, force: true });
  rmSync(poolHome, { recursive: true, force: true });
  rmSync(poolWorkspace, { recursive: true, force: true });
  rmSync(workspace, { recursive: true, force: true });
}
