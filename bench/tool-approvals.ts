// Tool-call approval round trip (issue 16): what an agent's tool call costs when the plugin asks
// approvals.nemoclaw.internal and the answer needs no operator, against a loopback HTTP server
// answering the same request directly, in the same run, interleaved. Two cases through the real
// proxy on its unix socket: the policy's tools.allow answers (no queue), and the approval queue
// answers (an "operator" that decides as soon as the item appears: the queue's own overhead).
// Each ask is a fresh connection (the plugin opens one per call), with the relay preamble first,
// as the sandbox helper's relay writes it. Target: added median < 5 ms (a model turn takes seconds).
// Run: node bench/tool-approvals.ts   (Node 24 strips the types; no build step)
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApprovalQueue } from '../src/approvals/index.ts';
import { startEgressProxy } from '../src/egress/index.ts';
import { compileEgressRules } from '../src/policy/index.ts';
import { report } from './summary.ts';

const ROUNDS = Number(process.env['BENCH_TOOL_ROUNDS'] ?? 300);
const ASK_TIMEOUT_MS = 10_000;

const body = JSON.stringify({ tool: 'exec', params: { command: 'touch /w/marker' }, sessionKey: 'agent:main:main', reason: 'bench' });
const head = (target: string) => `POST ${target} HTTP/1.1\r\nHost: approvals.nemoclaw.internal\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;

/** One exchange on a fresh connection; resolves with the elapsed ms once the server closes. */
function exchange(open: () => Socket, bytes: string, preamble = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = open();
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer within 10 s'));
    }, ASK_TIMEOUT_MS);
    s.on('connect', () => s.write(preamble + bytes));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      if (!out.startsWith('HTTP/1.1 200') || !out.includes('"decision":"allow"')) reject(new Error(`unexpected answer: ${out.slice(0, 200)}`));
      else resolve(performance.now() - t0);
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

const dir = mkdtempSync(join(tmpdir(), 'nc-bench-tools-'));
const queue = new ApprovalQueue();
queue.on('added', (item) => void queue.decide(item.id, { verdict: 'allow', always: false, by: { user: 'bench', origin: 'bench' } }));
const policy = { version: 1 as const, approvals: { unmatched_egress: 'deny' as const } };
const allowRules = compileEgressRules({ ...policy, tools: { allow: ['exec'] } });
const askRules = compileEgressRules(policy);
const proxy = await startEgressProxy({ socketPath: join(dir, 'run', 'p.sock'), sandboxId: 'bench', rules: allowRules, caDir: join(dir, 'ca'), approvals: queue, resolver: async () => [] });
const direct = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const text = '{"decision":"allow","reason":"direct"}\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
    res.end(text);
  });
});
await new Promise<void>((r) => direct.listen(0, '127.0.0.1', r));
const port = (direct.address() as AddressInfo).port;
const preamble = `NEMOCLAW/1 ${JSON.stringify({ sandbox: 'bench', pid: 1, exe: '/usr/bin/bench', sha256: 'b'.repeat(64), uid: 1000 })}\n`;

try {
  const viaPolicy: number[] = [];
  const viaQueue: number[] = [];
  const base: number[] = [];
  const url = 'http://approvals.nemoclaw.internal/v1/tool-approvals';
  for (let i = 0; i < ROUNDS + 20; i++) {
    const b = await exchange(() => connect(port, '127.0.0.1'), head('/v1/tool-approvals'));
    proxy.reload(allowRules);
    const p = await exchange(() => connect(proxy.socketPath), head(url), preamble);
    proxy.reload(askRules);
    const q = await exchange(() => connect(proxy.socketPath), head(url), preamble);
    if (i < 20) continue; // warm-up
    base.push(b);
    viaPolicy.push(p);
    viaQueue.push(q);
  }
  const mb = median(base);
  for (const [name, xs] of [['tools.allow answers', viaPolicy], ['the queue answers', viaQueue]] as const) {
    const m = median(xs);
    process.stdout.write(`tool ask (${name}): median ${m.toFixed(3)} ms, direct loopback HTTP ${mb.toFixed(3)} ms, ${ROUNDS} rounds\n`);
    report({ bench: 'tool-approvals', metric: `added per tool ask, median (${name})`, value: Number((m - mb).toFixed(3)), unit: 'ms', ratio: Number((m / mb).toFixed(2)), baseline: 'the same request to a loopback HTTP server', target: '< 5 ms', met: m - mb < 5 });
  }
} finally {
  queue.close();
  await proxy.close();
  await new Promise<void>((r) => direct.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
}
