// TUI benchmark (issue 5 targets): 5,000 events/s for 60 s into the feeds; the TUI process's CPU
// (target < 50% of one core), RSS (< 250 MB) and keypress-to-frame latency p95 (< 100 ms),
// measured through a real pseudo-terminal, against a baseline in the same run: the same TUI idle.
// Run: node bench/tui.ts [--seconds N] [--rate EVENTS_PER_S] [--size COLSxROWS]
//
// The TUI is the real CLI (`bin/nemoclaw tui`) in a PTY (@lydell/node-pty), its output parsed by
// @xterm/headless in this process. It attaches to a stand-in supervisor served here: the same
// control API routes the TUI uses (health, sandboxes, policy, approvals, the NDJSON event stream),
// on $NEMOCLAW_HOME/run/api.sock, with a lock naming this process, so `tui` attaches exactly as it
// would to `nemoclaw serve`. The stream carries bus events in the supervisor's format: helper
// syscall denials, egress denials and log lines from four sandboxes. Latency: press `?` and time
// until the help overlay is on the parsed screen; press `?` again and time until it is gone.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pty from '@lydell/node-pty';
import xterm from '@xterm/headless';
import { report } from './summary.ts';

const args = process.argv.slice(2);
function flag(name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
}
const SECONDS = Number(flag('--seconds', '60'));
const RATE = Number(flag('--rate', '5000'));
const [COLS, ROWS] = flag('--size', '160x48').split('x').map(Number) as [number, number];
const IDLE_SECONDS = Math.max(5, Math.min(15, Math.round(SECONDS / 4)));
const TARGET = { cpu: 50, rssMb: 250, p95Ms: 100 };
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLK_TCK = 100;

// ---------------------------------------------------------------------------------------------
// The stand-in supervisor
const home = mkdtempSync(join(tmpdir(), 'nct-bench-'));
mkdirSync(join(home, 'run'), { recursive: true });
const selfStat = readFileSync('/proc/self/stat', 'utf8');
writeFileSync(join(home, 'run', 'supervisor.lock'), `${process.pid} ${selfStat.slice(selfStat.lastIndexOf(')') + 2).split(' ')[19]}\n`);

const SANDBOXES = ['agent-a', 'agent-b', 'agent-c', 'agent-d'];
const SYSCALLS = ['ptrace', 'unshare', 'bpf', 'mount', 'perf_event_open', 'keyctl', 'setns', 'userfaultfd'];
const BINARIES = ['/usr/bin/python3', '/usr/bin/curl', '/usr/bin/node', '/usr/bin/git', '/usr/bin/sh'];
const view = (name: string) => ({ name, state: 'running', desired: 'running', pid: 1000, restarts: 0, restart: 'never', blueprint: 'strict', blueprintDigest: null, workspace: '/tmp', command: ['sh'], presets: [], inference: null, createdAt: new Date().toISOString(), startedAt: new Date().toISOString(), lastExit: null, policyRevision: 1, enforcement: { landlock_abi: 6 } });

let seq = 1;
let flooding = false;
let sent = 0;
const streams = new Set<ServerResponse>();
function makeEvent(): Record<string, unknown> {
  const n = seq;
  const base = { seq: seq++, ts: new Date().toISOString(), sandbox: SANDBOXES[n % 4] };
  const k = n % 10;
  if (k < 4) return { ...base, type: 'log', stream: 'stdout', line: `step ${n}: processing item ${n % 997} of the batch, ${'x'.repeat(n % 60)}` };
  if (k < 7) return { ...base, type: 'helper', event: { type: 'syscall_denied', pid: 2000 + (n % 50), syscall: SYSCALLS[n % 8], nr: 101, exe: BINARIES[n % 5], action: 'errno' } };
  return { ...base, type: 'egress', event: { type: 'egress_denied', ts: base.ts, sandbox: base.sandbox, pid: 3000, binary: BINARIES[n % 5], host: `h${n % 40}.example.com`, port: 443, method: 'GET', path: `/p/${n % 13}`, verdict: 'deny', rule: null, reason: 'no rule allows it; unmatched egress is denied' } };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const json = (v: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  if (url.pathname === '/v1/health') return json({ pid: process.pid });
  if (url.pathname === '/v1/sandboxes') return json({ sandboxes: SANDBOXES.map(view) });
  if (url.pathname === '/v1/approvals') return json({ items: [] });
  const m = /^\/v1\/sandboxes\/([^/]+)(\/policy)?$/.exec(url.pathname);
  if (m && m[2]) return json({ current: { rev: 1, text: 'version: 1\nfilesystem_policy:\n  read_only: [/usr]\n' }, applied: 1, revisions: [] });
  if (m) return json({ sandbox: view(m[1] as string) });
  if (url.pathname === '/v1/events') {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    streams.add(res);
    res.on('close', () => streams.delete(res));
    return;
  }
  res.writeHead(404).end('{}');
});
const sock = join(home, 'run', 'api.sock');
await new Promise<void>((r) => server.listen(sock, () => r()));

let floodStart = 0;
const tick = setInterval(() => {
  if (!flooding) return;
  const due = Math.floor(((performance.now() - floodStart) / 1000) * RATE) - sent;
  if (due <= 0) return;
  let chunk = '';
  for (let i = 0; i < due; i++) chunk += `${JSON.stringify(makeEvent())}\n`;
  sent += due;
  for (const s of streams) s.write(chunk);
}, 10);

// ---------------------------------------------------------------------------------------------
// The TUI in a PTY
const term = new xterm.Terminal({ cols: COLS, rows: ROWS, allowProposedApi: true });
const screenText = (): string => {
  const b = term.buffer.active;
  let s = '';
  for (let i = 0; i < term.rows; i++) s += `${b.getLine(i)?.translateToString(true) ?? ''}\n`;
  return s;
};
let onParsed: (() => void) | null = null;
const p = pty.spawn(join(ROOT, 'bin/nemoclaw'), ['tui', '--layout', 'overview'], {
  name: 'xterm-256color',
  cols: COLS,
  rows: ROWS,
  cwd: ROOT,
  env: { ...process.env, NEMOCLAW_HOME: home, TERM: 'xterm-256color' } as Record<string, string>,
});
let exited = false;
p.onExit(() => (exited = true));
p.onData((d) => term.write(d, () => onParsed?.()));

async function until(what: string, cond: () => boolean, maxMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (exited) throw new Error(`the TUI exited while waiting for ${what}:\n${screenText()}`);
    if (Date.now() - t0 > maxMs) throw new Error(`timed out waiting for ${what}:\n${screenText()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** ms from writing `key` to the parsed screen satisfying `cond` (checked after every parsed chunk). */
function keyLatency(key: string, cond: () => boolean, maxMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => {
      onParsed = null;
      reject(new Error(`no frame within ${maxMs} ms after ${JSON.stringify(key)}`));
    }, maxMs);
    onParsed = () => {
      if (!cond()) return;
      onParsed = null;
      clearTimeout(timer);
      resolve(performance.now() - t0);
    };
    p.write(key);
  });
}

function cpuTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
const pct = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number;
};

interface Phase {
  name: string;
  cpu: number;
  rssMax: number;
  rssMean: number;
  lat: number[];
  events: number;
}

const HELP = 'Esc/? close';
async function measure(name: string, seconds: number): Promise<Phase> {
  const pid = p.pid;
  const c0 = cpuTicks(pid);
  const t0 = performance.now();
  const sent0 = sent;
  const rss: number[] = [];
  const lat: number[] = [];
  const end = t0 + seconds * 1000;
  let nextRss = t0;
  while (performance.now() < end) {
    if (performance.now() >= nextRss) {
      rss.push(rssMb(pid));
      nextRss += 1000;
    }
    lat.push(await keyLatency('?', () => screenText().includes(HELP)));
    await new Promise((r) => setTimeout(r, 150));
    lat.push(await keyLatency('?', () => !screenText().includes(HELP)));
    await new Promise((r) => setTimeout(r, 150));
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = ((cpuTicks(pid) - c0) / CLK_TCK / wall) * 100;
  rss.push(rssMb(pid));
  return { name, cpu, rssMax: Math.max(...rss), rssMean: rss.reduce((a, b) => a + b, 0) / rss.length, lat, events: sent - sent0 };
}

/** Machine noise: key -> echo through a PTY to a minimal Node process in raw mode (no TUI at all). */
async function echoBaseline(samples: number): Promise<number[]> {
  const node = join(ROOT, 'node_modules/node/bin/node');
  const e = pty.spawn(node, ['-e', "process.stdin.setRawMode(true);process.stdout.write('READY');process.stdin.on('data',(d)=>{const k=d.toString();if(k==='q')process.exit(0);process.stdout.write('['+k+']')})"], { name: 'xterm-256color', cols: 80, rows: 24, cwd: ROOT, env: process.env as Record<string, string> });
  let buf = '';
  let waiter: (() => void) | null = null;
  e.onData((d) => {
    buf += d;
    waiter?.();
  });
  const out: number[] = [];
  await until('the echo process', () => buf.includes('READY'));
  for (let i = 0; i < samples; i++) {
    const key = String.fromCharCode(97 + (i % 16)); // a-p: q ends the echo process
    buf = '';
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo of ${key} within 5 s: ${JSON.stringify(buf)}`)), 5000);
      waiter = () => {
        if (buf.includes(`[${key}]`)) {
          waiter = null;
          clearTimeout(timer);
          resolve();
        }
      };
      e.write(key);
    });
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  e.write('q');
  return out;
}

let code = 0;
try {
  const echo = await echoBaseline(40);
  await until('the TUI to draw its panes', () => screenText().includes('running'));
  process.stdout.write(`nemoclaw tui ${COLS}x${ROWS}, pid ${p.pid}: idle baseline ${IDLE_SECONDS} s, then ${RATE} events/s for ${SECONDS} s\n`);
  const idle = await measure('idle (baseline)', IDLE_SECONDS);
  flooding = true;
  floodStart = performance.now();
  const flood = await measure(`${RATE} events/s`, SECONDS);
  flooding = false;
  await until('the feeds to show the flood', () => screenText().includes('example.com'), 5000).catch(() => undefined);
  const row = (ph: Phase): string => `| ${ph.name} | ${ph.events} | ${ph.cpu.toFixed(1)}% | ${ph.rssMax.toFixed(0)} MB (mean ${ph.rssMean.toFixed(0)}) | ${pct(ph.lat, 0.5).toFixed(1)} ms | ${pct(ph.lat, 0.95).toFixed(1)} ms | ${ph.lat.length} |`;
  process.stdout.write(`\n| phase | events sent | TUI CPU (of one core) | RSS max | key->frame p50 | p95 | samples |\n|---|---|---|---|---|---|---|\n${row(idle)}\n${row(flood)}\n\n`);
  process.stdout.write(`machine noise: key -> echo of a bare raw-mode Node process in a PTY: p50 ${pct(echo, 0.5).toFixed(1)} ms, p95 ${pct(echo, 0.95).toFixed(1)} ms (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on ${(await import('node:os')).availableParallelism()} cores)\n\n`);
  const ratio = (v: number, t: number): string => `${(v / t).toFixed(2)}x of target (${v <= t ? 'met' : 'MISSED'})`;
  const p95 = pct(flood.lat, 0.95);
  process.stdout.write(`CPU ${flood.cpu.toFixed(1)}% vs target < ${TARGET.cpu}%: ${ratio(flood.cpu, TARGET.cpu)}; vs idle: ${(flood.cpu / Math.max(idle.cpu, 0.1)).toFixed(1)}x\n`);
  process.stdout.write(`RSS ${flood.rssMax.toFixed(0)} MB vs target < ${TARGET.rssMb} MB: ${ratio(flood.rssMax, TARGET.rssMb)}; vs idle: ${(flood.rssMax / idle.rssMax).toFixed(2)}x\n`);
  process.stdout.write(`key->frame p95 ${p95.toFixed(1)} ms vs target < ${TARGET.p95Ms} ms: ${ratio(p95, TARGET.p95Ms)}; vs idle: ${(p95 / pct(idle.lat, 0.95)).toFixed(2)}x\n`);
  report({ bench: 'tui', metric: `CPU at ${RATE} events/s`, value: flood.cpu, unit: '% of a core', ratio: flood.cpu / Math.max(idle.cpu, 0.1), baseline: 'idle', target: `< ${TARGET.cpu}%`, met: flood.cpu <= TARGET.cpu });
  report({ bench: 'tui', metric: 'RSS max', value: flood.rssMax, unit: 'MB', ratio: flood.rssMax / idle.rssMax, baseline: 'idle', target: `< ${TARGET.rssMb} MB`, met: flood.rssMax <= TARGET.rssMb });
  report({ bench: 'tui', metric: 'key to frame p95', value: p95, unit: 'ms', ratio: p95 / pct(idle.lat, 0.95), baseline: 'idle', target: `< ${TARGET.p95Ms} ms`, met: p95 <= TARGET.p95Ms });
  if (flood.cpu > TARGET.cpu || flood.rssMax > TARGET.rssMb || p95 > TARGET.p95Ms) code = 1;
} catch (err) {
  process.stderr.write(`bench/tui: ${err instanceof Error ? err.message : String(err)}\n`);
  code = 2;
} finally {
  clearInterval(tick);
  if (!exited) {
    p.write('q');
    await until('the TUI to quit', () => exited, 5000).catch(() => p.kill('SIGKILL'));
  }
  for (const s of streams) s.destroy();
  server.close();
  term.dispose();
  rmSync(home, { recursive: true, force: true });
}
process.exit(code);
