// Inference router benchmark (issue 14 targets): time to first token and per-chunk latency of a
// streamed chat completion through the egress proxy and the router, against the same stand-in
// called directly in the same run, with redaction off (cloud-allowed) and on
// (cloud-with-redaction, a secret in the prompt so every chunk takes the restore path); and the
// redaction scan of a 32 KiB prompt against JSON.parse + JSON.stringify of the same body.
// Targets: added TTFT median < 2 ms, added per-chunk median < 0.2 ms, scan < 1 ms.
// Run: node bench/router.ts   (Node 24 strips the types; no build step)
//
// Everything runs in this process: a loopback SSE stand-in (named as one: no model runs), the
// proxy on a unix socket with the router set, and the clients, which write the relay preamble
// themselves as the sandbox helper's monitor would. Chunks are stamped with the monotonic clock
// when the stand-in writes them and when the client reads them. Every loop is bounded.
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEgressProxy } from '../src/egress/index.ts';
import { compileEgressRules } from '../src/policy/index.ts';
import { ProviderStore, RouteStore, createInferenceRouter, redactJson, redactionContext } from '../src/inference/index.ts';
import { report } from './summary.ts';

const REQUESTS = Number(process.env['BENCH_ROUTER_REQUESTS'] ?? 150);
const CHUNKS = Number(process.env['BENCH_ROUTER_CHUNKS'] ?? 20);
const CHUNK_GAP_MS = 1;
const SCANS = 300;
const PHASE_TIMEOUT_MS = 120_000;
const SECRET = `nvapi-${'Qw3rTy7uIo9pAs2dFg5hJk8lZx1cVb4n'.repeat(2)}`;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};

// The stand-in: answers each request with CHUNKS SSE events, CHUNK_GAP_MS apart, each naming its
// index (⟨i⟩) so the client can match it with the time it was written. It keys a request on its
// user-agent, one of the caller headers the router forwards.
const sent = new Map<string, number>();
function handler(req: IncomingMessage, res: ServerResponse): void {
  const id = String(req.headers['user-agent'] ?? '');
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    let i = 0;
    const step = (): void => {
      if (i < CHUNKS) {
        sent.set(`${id}:${i}`, now());
        res.write(`data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `⟨${i}⟩ token ` }, finish_reason: null }] })}\n\n`);
        i += 1;
        setTimeout(step, CHUNK_GAP_MS);
        return;
      }
      res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
    };
    step();
  });
}
const standIn = createServer(handler);
await new Promise<void>((r) => standIn.listen(0, '127.0.0.1', () => r()));
const port = (standIn.address() as AddressInfo).port;

const home = mkdtempSync(join(tmpdir(), 'nc-bench-router-'));
const providers = new ProviderStore(home);
providers.add({ name: 'stand-in-cloud', type: 'openai', url: `http://127.0.0.1:${port}/v1`, location: 'cloud', key: 'bench-key-0123456789abcdef' });
const routes = new RouteStore(home);
routes.set('bench', { provider: 'stand-in-cloud', model: 'stand-in-model', alias: 'bench', mode: 'cloud-allowed' });
routes.set('bench-r', { provider: 'stand-in-cloud', model: 'stand-in-model', alias: 'bench', mode: 'cloud-with-redaction' });
const router = createInferenceRouter({ home, providers, routes });
const rules = compileEgressRules({ version: 1, network_policies: {} });
// One proxy per sandbox, as the supervisor runs them: 'bench' routes cloud-allowed, 'bench-r' with redaction.
const proxies = await Promise.all(
  ['bench', 'bench-r'].map((id) => startEgressProxy({ socketPath: join(home, 'run', `${id}.sock`), sandboxId: id, rules, caDir: join(home, `${id}.ca`), inference: router })),
);

const direct = new Agent({ keepAlive: true, maxSockets: 1 });
function proxyAgent(i: number): Agent {
  const a = new Agent({ keepAlive: true, maxSockets: 1 });
  const sandbox = proxies[i]!.sandboxId;
  // Each connection to the proxy starts with the relay preamble, as the helper's monitor writes it.
  (a as unknown as { createConnection: () => unknown }).createConnection = () => {
    const s = connect(proxies[i]!.socketPath);
    s.write(`NEMOCLAW/1 ${JSON.stringify({ sandbox, pid: 1, exe: '/usr/bin/bench', sha256: 'b'.repeat(64), uid: 1000 })}\n`);
    return s;
  };
  return a;
}
const viaProxy = proxyAgent(0);
const viaProxyRedacting = proxyAgent(1);

interface Sample {
  ttft: number;
  perChunk: number[];
}

let seq = 0;
function once(mode: 'direct' | 'router' | 'router+redaction'): Promise<Sample> {
  const id = `r${seq++}`;
  const content = mode === 'router+redaction' ? `deploy with ${SECRET} please` : 'deploy please';
  const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content }] });
  return new Promise((resolve, reject) => {
    const t0 = now();
    const opts =
      mode === 'direct'
        ? { host: '127.0.0.1', port, path: '/v1/chat/completions', agent: direct }
        : { agent: mode === 'router' ? viaProxy : viaProxyRedacting, path: 'http://inference.local/v1/chat/completions', headers: { host: 'inference.local' } };
    const req = request({ ...opts, method: 'POST', headers: { ...('headers' in opts ? opts.headers : {}), 'content-type': 'application/json', 'user-agent': id, 'content-length': Buffer.byteLength(body) } }, (res: IncomingMessage) => {
      let ttft = NaN;
      const perChunk: number[] = [];
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        const t = now();
        text += c;
        for (let m = /⟨(\d+)⟩/.exec(text); m !== null; m = /⟨(\d+)⟩/.exec(text)) {
          const at = sent.get(`${id}:${m[1]}`);
          if (at !== undefined) perChunk.push(t - at);
          if (Number.isNaN(ttft)) ttft = t - t0;
          text = text.slice((m.index ?? 0) + m[0].length);
        }
      });
      res.on('end', () => (perChunk.length === CHUNKS ? resolve({ ttft, perChunk }) : reject(new Error(`${mode}: ${perChunk.length} of ${CHUNKS} chunks (status ${res.statusCode})`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function phase(): Promise<Record<string, { ttft: number[]; chunk: number[] }>> {
  const modes = ['direct', 'router', 'router+redaction'] as const;
  const out: Record<string, { ttft: number[]; chunk: number[] }> = {};
  for (const m of modes) out[m] = { ttft: [], chunk: [] };
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  // Interleaved, so drift of the machine's load hits every mode alike; a few warm-up rounds first.
  for (let i = -10; i < REQUESTS && Date.now() < deadline; i++) {
    for (const m of modes) {
      const s = await once(m);
      if (i < 0) continue;
      out[m]!.ttft.push(s.ttft);
      out[m]!.chunk.push(...s.perChunk);
    }
  }
  return out;
}

try {
  const r = await phase();
  const d = r['direct']!;
  const fmt = (x: number): string => x.toFixed(3);
  process.stdout.write(`router benchmark: ${r['router']!.ttft.length} streamed requests per mode, ${CHUNKS} chunks each, ${CHUNK_GAP_MS} ms apart (same run, interleaved)\n`);
  process.stdout.write(`mode                TTFT median ms   added    ratio   per-chunk median ms   added    ratio\n`);
  for (const m of ['direct', 'router', 'router+redaction']) {
    const x = r[m]!;
    const tt = median(x.ttft);
    const ch = median(x.chunk);
    process.stdout.write(`${m.padEnd(20)}${fmt(tt).padStart(15)}${fmt(tt - median(d.ttft)).padStart(9)}${(tt / median(d.ttft)).toFixed(2).padStart(8)}${fmt(ch).padStart(22)}${fmt(ch - median(d.chunk)).padStart(9)}${(ch / median(d.chunk)).toFixed(2).padStart(8)}\n`);
    if (m === 'direct') continue;
    const addedTtft = tt - median(d.ttft);
    const addedChunk = ch - median(d.chunk);
    report({ bench: 'router', metric: `added TTFT median (${m})`, value: Number(addedTtft.toFixed(3)), unit: 'ms', ratio: Number((tt / median(d.ttft)).toFixed(2)), baseline: 'the stand-in called directly', target: '< 2 ms', met: addedTtft < 2 });
    report({ bench: 'router', metric: `added per-chunk median (${m})`, value: Number(addedChunk.toFixed(3)), unit: 'ms', ratio: Number((ch / median(d.chunk)).toFixed(2)), baseline: 'the stand-in called directly', target: '< 0.2 ms', met: addedChunk < 0.2 });
  }

  // Redaction scan of a 32 KiB prompt (a secret near the end, prose with numbers around it).
  const prompt = `${'The deploy on node 7 took 12 minutes; retry 3 times, then page the on-call at 09:30. '.repeat(380).slice(0, 32 * 1024 - 100)} key ${SECRET}`;
  const body = { model: 'bench', messages: [{ role: 'system', content: 'you help' }, { role: 'user', content: prompt }] };
  const scan: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < SCANS; i++) {
    let t = now();
    redactJson(body, redactionContext(['bench-key-0123456789abcdef']));
    scan.push(now() - t);
    t = now();
    JSON.parse(JSON.stringify(body));
    base.push(now() - t);
  }
  const sm = median(scan);
  process.stdout.write(`redaction scan of a 32 KiB prompt: median ${fmt(sm)} ms (JSON.parse+stringify of the same body: ${fmt(median(base))} ms, ratio ${(sm / median(base)).toFixed(1)})\n`);
  report({ bench: 'router', metric: 'redaction scan, 32 KiB prompt', value: Number(sm.toFixed(3)), unit: 'ms', ratio: Number((sm / median(base)).toFixed(1)), baseline: 'JSON.parse+stringify of the same body', target: '< 1 ms', met: sm < 1 });
} finally {
  direct.destroy();
  viaProxy.destroy();
  viaProxyRedacting.destroy();
  for (const p of proxies) await p.close();
  await new Promise<void>((r) => standIn.close(() => r()));
  standIn.closeAllConnections();
  rmSync(home, { recursive: true, force: true });
}
