// Egress proxy benchmark (issue targets): bulk transfer through relay+proxy vs direct (>= 0.8; the
// production path is phase 4: curl in a real sandbox, the proxy decides the CONNECT, the helper
// dials the checked address and splices the bytes — native/PROTOCOL.md, "Handoff"),
// added median latency per keep-alive request (< 1 ms), 1,000 concurrent tunnels held without
// error, proxy RSS (< 200 MB).
// Run: node bench/egress.ts   (Node 24 strips the types; no build step)
//
// The proxy runs in a child process (so its RSS is its own); the origins and the clients run in
// this process, for the direct baseline and the proxied run alike. Clients reach the proxy
// directly over its unix socket and write the relay preamble themselves; when the helper is built,
// a last phase runs curl inside a real sandbox (helper relay + proxy) against curl outside.
// Every loop is bounded in count and in time; all targets are on 127.0.0.1.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import type { AgentOptions } from 'node:http';
import { connect as netConnect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './summary.ts';

const BULK_BYTES = Number(process.env['BENCH_BULK_MB'] ?? 256) * 1024 * 1024;
const BULK_ROUNDS = Number(process.env['BENCH_BULK_ROUNDS'] ?? 7);
const LAT_REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 2000);
const SANDBOX_REQUESTS = Number(process.env['BENCH_SANDBOX_REQUESTS'] ?? 520);
const SANDBOX_ROUNDS = Number(process.env['BENCH_SANDBOX_ROUNDS'] ?? 5);
const TUNNELS = Number(process.env['BENCH_TUNNELS'] ?? 1000);
const PHASE_TIMEOUT_MS = 120_000;
const PREAMBLE = `NEMOCLAW/1 ${JSON.stringify({ sandbox: 'bench', pid: 1, exe: '/usr/bin/bench', sha256: 'b'.repeat(64), uid: 1000 })}\n`;

// ---------------------------------------------------------------------------------------------
// child: the proxy
if (process.argv[2] === '--proxy-child') {
  const [dir, portsText] = process.argv.slice(3);
  const ports = (portsText ?? '').split(',').map(Number);
  const { startEgressProxy } = await import('../src/egress/index.ts');
  const { compileEgressRules } = await import('../src/policy/index.ts');
  const rules = compileEgressRules({
    version: 1,
    network_policies: { bench: { endpoints: ports.map((port) => ({ host: '127.0.0.1', port, allowed_ips: ['127.0.0.1'] })) } },
  });
  const proxy = await startEgressProxy({ socketPath: join(dir as string, 'run', 'proxy.sock'), sandboxId: 'bench', rules, caDir: join(dir as string, 'ca') });
  process.stdout.write(`ready ${proxy.socketPath}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void proxy.close().then(() => process.exit(0)));
}

function withTimeout<T>(p: Promise<T>, what: string, ms = PHASE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Runs a command, resolves with its stdout (bounded by PHASE_TIMEOUT_MS); onLine sees the process's pid at its first output line. */
function runCapture(cmd: string, args: string[], onLine?: (pid: number) => void): Promise<string> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (onLine && out.includes('\n') && p.pid !== undefined) {
          onLine(p.pid);
          onLine = undefined;
        }
      });
      p.on('error', reject);
      p.on('close', () => resolve(out));
    }),
    `${cmd}`,
  );
}

/** user+system CPU seconds of a process (Linux /proc/PID/stat). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Aggregate CPU time from /proc/stat, with the hypervisor's steal (time this VM was runnable but not run). */
function cpuStat(): { steal: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  return { steal: f[7] ?? 0, total: f.reduce((a, b) => a + b, 0) };
}

/** Steal as a share of all CPU time since `from`: a shared VM's noise, printed beside the results it distorts. */
function stealSince(from: { steal: number; total: number }): number {
  const now = cpuStat();
  return now.total > from.total ? ((now.steal - from.steal) / (now.total - from.total)) * 100 : 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
}

/** Opens a tunnel through the proxy to 127.0.0.1:port; resolves once the 200 is read. */
function tunnel(socketPath: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(socketPath);
    let buf = '';
    s.once('error', reject);
    s.on('connect', () => s.write(`${PREAMBLE}CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      s.pause();
      if (!buf.startsWith('HTTP/1.1 200')) {
        s.destroy();
        reject(new Error(`CONNECT refused: ${buf.split('\r\n')[0]}`));
        return;
      }
      const rest = Buffer.from(buf.slice(end + 4), 'latin1');
      if (rest.length) s.unshift(rest);
      resolve(s);
    };
    s.on('data', onData);
  });
}

function drain(s: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.once('end', () => resolve(n));
    s.once('error', reject);
    s.resume();
  });
}

// A second bulk origin for the sandbox phase: python3 answering every request with sendfile(2) of a
// file in the page cache, as production web servers serve static bodies. It costs the origin
// almost no CPU, so the ratio shows the relay's own limit rather than three CPU-bound processes
// (origin, client, relay) sharing the host's CPUs.
const SENDFILE_ORIGIN_PY = `
import os, socket, sys
path = sys.argv[1]
size = os.path.getsize(path)
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
while True:
    c, _ = srv.accept()
    head = b''
    while b'\\r\\n\\r\\n' not in head and len(head) < 65536:
        b = c.recv(4096)
        if not b:
            break
        head += b
    c.sendall(b'HTTP/1.1 200 OK\\r\\ncontent-length: %d\\r\\nconnection: close\\r\\n\\r\\n' % size)
    with open(path, 'rb') as f:
        c.sendfile(f)
    c.close()
`;

async function startSendfileOrigin(dir: string): Promise<{ port: number; stop(): void } | null> {
  const body = join(dir, 'bulk.bin');
  writeFileSync(body, Buffer.alloc(BULK_BYTES, 0x61));
  const p = spawn('python3', ['-c', SENDFILE_ORIGIN_PY, body], { stdio: ['ignore', 'pipe', 'inherit'] });
  return withTimeout(
    new Promise((resolve) => {
      p.once('error', () => resolve(null)); // no python3: the phase runs with the Node origin alone
      p.stdout.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), stop: () => p.kill('SIGKILL') }));
    }),
    'sendfile origin start',
    10_000,
  );
}

async function main(): Promise<void> {
  const runStart = cpuStat();
  const dir = mkdtempSync(join(tmpdir(), 'nc-bench-egress-'));
  const sendfileOrigin = await startSendfileOrigin(dir);
  // origins: a byte source (bulk), an echo server (tunnels), an HTTP server (latency)
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  // BULK_BYTES into a writable, honouring backpressure
  const pumpBulk = (sink: { write(b: Buffer): boolean; end(): void; once(ev: 'drain', f: () => void): unknown }): void => {
    let left = BULK_BYTES;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!sink.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          sink.once('drain', pump);
          return;
        }
      }
      sink.end();
    };
    pump();
  };
  const source = createServer((s) => {
    s.on('error', () => {});
    pumpBulk(s);
  });
  const echo = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const http = createHttpServer({ keepAlive: true }, (req, res) => {
    if (req.url === '/bulk') {
      // BULK_BYTES of body, for curl inside a sandbox (relay phase)
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BULK_BYTES) });
      pumpBulk(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  for (const srv of [source, echo, http]) await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv: { address(): unknown }) => (srv.address() as AddressInfo).port;
  const [sourcePort, echoPort, httpPort] = [port(source), port(echo), port(http)];

  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', self, '--proxy-child', dir, [sourcePort, echoPort, httpPort, ...(sendfileOrigin ? [sendfileOrigin.port] : [])].join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const socketPath = await withTimeout(
    new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\S+)\n/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`proxy child exited ${code}`)));
    }),
    'proxy start',
    30_000,
  );
  const rss = () => {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  };
  const results: Record<string, unknown> = {};
  console.log(`egress bench: node ${process.version}, proxy pid ${child.pid}, client -> proxy: unix socket directly (preamble written by the client)`);

  const atStart = rss();
  console.log(`proxy RSS after start: ${atStart.rssMB.toFixed(1)} MB`);
  try {
    // 1. bulk transfer: direct and proxied rounds interleaved (the host is shared and noisy), the
    // ratio is the median of per-round ratios; the proxy's own CPU time per GiB is load-independent.
    const direct: number[] = [];
    const proxied: number[] = [];
    const ratios: number[] = [];
    const cpu0 = cpuSeconds(child.pid as number);
    for (let i = 0; i < BULK_ROUNDS; i++) {
      let t = performance.now();
      let n = await withTimeout(drain(netConnect(sourcePort, '127.0.0.1')), 'bulk direct');
      const d = n / ((performance.now() - t) / 1000);
      t = performance.now();
      n = await withTimeout(tunnel(socketPath, sourcePort).then(drain), 'bulk proxied');
      if (n !== BULK_BYTES) throw new Error(`proxied bulk transfer got ${n} of ${BULK_BYTES} bytes`);
      const p = n / ((performance.now() - t) / 1000);
      direct.push(d);
      proxied.push(p);
      ratios.push(p / d);
    }
    const proxyCpuPerGiB = (cpuSeconds(child.pid as number) - cpu0) / ((BULK_BYTES * BULK_ROUNDS) / 2 ** 30);
    const bd = median(direct);
    const bp = median(proxied);
    const ratio = median(ratios);
    console.log(`proxy RSS after bulk: ${rss().rssMB.toFixed(1)} MB`);
    results.bulk = { directMBps: bd / 1e6, proxiedMBps: bp / 1e6, ratio, ratios, proxyCpuSecondsPerGiB: proxyCpuPerGiB };
    console.log(
      `bulk ${BULK_BYTES / 1048576} MiB x${BULK_ROUNDS} (the proxy's own CONNECT byte relay, for clients that do not offer the handoff): direct median ${(bd / 1e6).toFixed(0)} MB/s, through proxy ${(bp / 1e6).toFixed(0)} MB/s; ratio (median of rounds) ${ratio.toFixed(2)} (target >= 0.80; rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}); proxy CPU ${proxyCpuPerGiB.toFixed(2)} s/GiB`,
    );

    // 2. keep-alive latency
    class ProxyAgent extends Agent {
      constructor(o: AgentOptions) {
        super(o);
      }
      override createConnection(): Socket {
        const s = netConnect(socketPath);
        s.write(PREAMBLE);
        return s;
      }
    }
    const timeRequests = async (agent: Agent, viaProxy: boolean): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < LAT_REQUESTS + 200; i++) {
        const t = performance.now();
        await new Promise<void>((resolve, reject) => {
          const req = request(
            viaProxy
              ? { agent, path: `http://127.0.0.1:${httpPort}/r${i}`, headers: { host: `127.0.0.1:${httpPort}` } }
              : { agent, host: '127.0.0.1', port: httpPort, path: `/r${i}` },
            (res) => {
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
          req.end();
        });
        if (i >= 200) out.push(performance.now() - t);
      }
      return out;
    };
    const directAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const proxyAgent = new ProxyAgent({ keepAlive: true, maxSockets: 1 });
    const ld = await withTimeout(timeRequests(directAgent, false), 'latency direct');
    const lp = await withTimeout(timeRequests(proxyAgent, true), 'latency proxied');
    directAgent.destroy();
    proxyAgent.destroy();
    const added = median(lp) - median(ld);
    results.latency = { directMedianMs: median(ld), proxiedMedianMs: median(lp), addedMedianMs: added, directP99Ms: pct(ld, 0.99), proxiedP99Ms: pct(lp, 0.99), ratio: median(lp) / median(ld) };
    console.log(
      `keep-alive GET x${LAT_REQUESTS}: direct median ${median(ld).toFixed(3)} ms (p99 ${pct(ld, 0.99).toFixed(3)}), through proxy ${median(lp).toFixed(3)} ms (p99 ${pct(lp, 0.99).toFixed(3)}); added ${added.toFixed(3)} ms (target < 1 ms), ratio ${(median(lp) / median(ld)).toFixed(2)}`,
    );

    // 3. concurrent tunnels
    const before = rss();
    const held: Socket[] = [];
    let errors = 0;
    const t0 = performance.now();
    await withTimeout(
      (async () => {
        for (let i = 0; i < TUNNELS; i += 100) {
          const batch = await Promise.allSettled(Array.from({ length: Math.min(100, TUNNELS - i) }, () => tunnel(socketPath, echoPort)));
          for (const b of batch) {
            if (b.status === 'fulfilled') held.push(b.value);
            else errors++;
          }
        }
        // every tunnel echoes one message while all are open
        const echoed = await Promise.allSettled(
          held.map(
            (s, i) =>
              new Promise<void>((resolve, reject) => {
                const msg = `ping ${i}\n`;
                let got = '';
                s.on('data', (d: Buffer) => {
                  got += d.toString();
                  if (got === msg) resolve();
                });
                s.once('error', reject);
                s.resume();
                s.write(msg);
              }),
          ),
        );
        errors += echoed.filter((e) => e.status === 'rejected').length;
      })(),
      'tunnels',
    );
    const heldMs = performance.now() - t0;
    const during = rss();
    results.tunnels = { requested: TUNNELS, held: held.length, errors, openAndEchoMs: heldMs, proxyRssMB: during.rssMB, proxyRssBeforeMB: before.rssMB, proxyPeakMB: during.hwmMB };
    console.log(`tunnels: ${held.length}/${TUNNELS} held open and echoed, ${errors} errors, in ${heldMs.toFixed(0)} ms`);
    for (const s of held) s.destroy();
    console.log(`proxy RSS: ${during.rssMB.toFixed(1)} MB with ${held.length} tunnels open (before: ${before.rssMB.toFixed(1)} MB, peak over the whole run incl. bulk: ${during.hwmMB.toFixed(1)} MB); target < 200 MB, ratio ${(during.hwmMB / 200).toFixed(2)} of the limit`);

    console.log('paths above: client -> unix socket -> proxy (the client writes the relay preamble itself)');

    // 4. through a real sandbox: curl inside, the helper's relay, the proxy (CONNECT byte relay),
    // against the same curl outside talking to the origin directly
    let sandboxRatio: number | undefined;
    let sandboxAdded: number | undefined;
    let sandboxTunnelsOk = true;
    const helper = fileURLToPath(new URL('../native/build/nemoclaw-sandbox', import.meta.url));
    if (existsSync(helper)) {
      // speed over the whole request, and over the body alone (from the first byte of the response:
      // the connect, the proxy's decision and the handoff are latency, measured in phase 2)
      const curlArgs = ['-s', '-o', '/dev/null', '-w', '%{speed_download} %{size_download} %{time_starttransfer} %{time_total}\n'];
      const sbxArgs = ['--ro', '/usr', '--ro', '/lib', '--ro', '/lib64', '--ro', '/bin', '--ro', '/etc', '--proxy-socket', socketPath, '--sandbox-id', 'bench', '--wall-time', '120000'];
      const parse = (out: string) => {
        const [speed, size, start, total] = out.trim().split(' ').map(Number) as [number, number, number, number];
        if (!(speed > 0) || size !== BULK_BYTES) throw new Error(`curl run failed: ${JSON.stringify(out)}`);
        return { whole: speed, body: size / (total - start) };
      };
      const compare = async (url: string, origin: string) => {
        const helperCpus: number[] = [];
        const stealFrom = cpuStat();
        const rounds: Array<{ direct: { whole: number; body: number }; sandboxed: { whole: number; body: number } }> = [];
        for (let i = 0; i < SANDBOX_ROUNDS; i++) {
          const direct = parse(await runCapture('curl', [...curlArgs, '--noproxy', '*', url]));
          // the helper's own CPU (the monitor process: relay and splice), read while the sandbox lingers
          let helperCpu = NaN;
          const inner = `/usr/bin/curl ${curlArgs.map((a) => `'${a}'`).join(' ')} -p -x http://127.0.0.1:3128 ${url}; sleep 0.3`;
          const sandboxed = parse(await runCapture(helper, [...sbxArgs, '--env', 'PATH=/usr/bin:/bin', '--', '/bin/sh', '-c', inner], (pid) => (helperCpu = cpuSeconds(pid))));
          rounds.push({ direct, sandboxed });
          helperCpus.push(helperCpu / (BULK_BYTES / 2 ** 30));
        }
        const bodyRatios = rounds.map((r) => r.sandboxed.body / r.direct.body);
        const wholeRatios = rounds.map((r) => r.sandboxed.whole / r.direct.whole);
        const out = {
          origin,
          directMBps: median(rounds.map((r) => r.direct.body)) / 1e6,
          relayMBps: median(rounds.map((r) => r.sandboxed.body)) / 1e6,
          ratio: median(bodyRatios),
          ratios: bodyRatios,
          wholeRequestRatio: median(wholeRatios),
          helperCpuSecondsPerGiB: median(helperCpus),
          hostStealPercent: stealSince(stealFrom),
        };
        console.log(
          `bulk through a real sandbox, ${origin} (curl inside -> helper relay; CONNECT decided by the proxy, bytes spliced by the helper), ${BULK_BYTES / 1048576} MiB x${SANDBOX_ROUNDS}: ` +
            `direct curl ${out.directMBps.toFixed(0)} MB/s, sandboxed ${out.relayMBps.toFixed(0)} MB/s; ` +
            `ratio ${out.ratio.toFixed(2)} (target >= 0.80; rounds ${bodyRatios.map((r) => r.toFixed(2)).join(' ')}); whole request incl. connect and decision ${out.wholeRequestRatio.toFixed(2)}; ` +
            `helper CPU ${out.helperCpuSecondsPerGiB.toFixed(2)} s/GiB (the proxy's own relay: ${proxyCpuPerGiB.toFixed(2)}); host steal ${out.hostStealPercent.toFixed(0)}%`,
        );
        return out;
      };
      const viaNode = await compare(`http://127.0.0.1:${httpPort}/bulk`, 'Node origin (CPU-bound: writes 256 KiB chunks)');
      const viaSendfile = sendfileOrigin ? await compare(`http://127.0.0.1:${sendfileOrigin.port}/bulk`, 'sendfile origin (python3, page cache)') : null;
      results.sandboxRelay = { cpus: availableParallelism(), nodeOrigin: viaNode, sendfileOrigin: viaSendfile };
      console.log(
        `${availableParallelism()} CPUs: with the Node origin, origin + curl + helper compete for them (direct uses two processes, sandboxed three); ` +
          `the sendfile origin leaves the relay's own cost visible`,
      );
      sandboxRatio = Math.min(viaNode.ratio, viaSendfile?.ratio ?? viaNode.ratio); // the summary holds both origins to the target

      // TUNNELS tunnels held at once through one sandbox (python3 inside), each echoing through the
      // echo origin; the helper and the proxy's RSS read while all are open
      const manyPy = [
        'import socket, sys',
        `N = ${TUNNELS}`,
        'socks = []',
        'for i in range(N):',
        "    s = socket.create_connection(('127.0.0.1', 3128), timeout=60)",
        `    s.sendall(b'CONNECT 127.0.0.1:${echoPort} HTTP/1.1\\r\\nHost: 127.0.0.1:${echoPort}\\r\\n\\r\\n')`,
        '    socks.append(s)',
        'ok = 0',
        'for i, s in enumerate(socks):',
        "    head = b''",
        "    while b'\\r\\n\\r\\n' not in head:",
        '        b = s.recv(1)',
        '        if not b: break',
        '        head += b',
        "    msg = b'ping %d' % i",
        '    s.sendall(msg)',
        "    got = b''",
        '    while len(got) < len(msg):',
        '        b = s.recv(64)',
        '        if not b: break',
        '        got += b',
        '    ok += got == msg',
        "print('held', ok, flush=True)",
        'sys.stdin.read()',
      ].join('\n');
      const held = await withTimeout(
        new Promise<{ ok: number; helperRssMB: number; proxyRssMB: number }>((resolve, reject) => {
          let result: { ok: number; helperRssMB: number; proxyRssMB: number } | undefined;
          const p = spawn(helper, [...sbxArgs, '--nofile', String(TUNNELS + 64), '--env', 'PATH=/usr/bin:/bin', '--', '/usr/bin/python3', '-c', manyPy], { stdio: ['pipe', 'pipe', 'inherit'] });
          let out = '';
          p.on('error', reject);
          p.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /held (\d+)/.exec(out);
            if (!m || result) return;
            const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
            const helperRssMB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
            result ??= { ok: Number(m[1]), helperRssMB, proxyRssMB: rss().rssMB };
            p.stdin.end();
          });
          p.once('close', () => (result ? resolve(result) : reject(new Error(`sandboxed tunnels: ${out}`))));
        }),
        'sandboxed tunnels',
      );
      results.sandboxTunnels = { requested: TUNNELS, ...held };
      sandboxTunnelsOk = held.ok === TUNNELS;
      console.log(
        `tunnels through a real sandbox (python3 inside, handed to the helper): ${held.ok}/${TUNNELS} held open and echoed; helper RSS ${held.helperRssMB.toFixed(1)} MB, proxy RSS ${held.proxyRssMB.toFixed(1)} MB while open`,
      );

      // keep-alive latency on the production path: one curl, SANDBOX_REQUESTS requests on one
      // connection (absolute-form through the relay and the proxy), against the same curl direct
      const urls = Array.from({ length: SANDBOX_REQUESTS }, (_, i) => `http://127.0.0.1:${httpPort}/k${i}`);
      const timesOf = (out: string) => out.trim().split('\n').map((l) => Number(l) * 1000).slice(20); // the first 20 warm up
      const kaArgs = ['-s', '-w', '%{time_total}\n', ...urls.flatMap((u) => ['-o', '/dev/null', u])];
      const directTimes = timesOf(await runCapture('curl', ['--noproxy', '*', ...kaArgs]));
      const sandboxTimes = timesOf(await runCapture(helper, [...sbxArgs, '--env', 'PATH=/usr/bin:/bin', '--', '/usr/bin/curl', '-x', 'http://127.0.0.1:3128', ...kaArgs]));
      if (directTimes.length !== SANDBOX_REQUESTS - 20 || sandboxTimes.length !== SANDBOX_REQUESTS - 20) throw new Error('keep-alive curl run failed');
      sandboxAdded = median(sandboxTimes) - median(directTimes);
      results.sandboxLatency = { directMedianMs: median(directTimes), sandboxedMedianMs: median(sandboxTimes), addedMedianMs: sandboxAdded, sandboxedP99Ms: pct(sandboxTimes, 0.99) };
      console.log(
        `keep-alive GET x${SANDBOX_REQUESTS - 20} through a real sandbox (curl inside -> helper relay -> proxy, one connection): direct median ${median(directTimes).toFixed(3)} ms, ` +
          `sandboxed ${median(sandboxTimes).toFixed(3)} ms (p99 ${pct(sandboxTimes, 0.99).toFixed(3)}); added ${sandboxAdded.toFixed(3)} ms (target < 1 ms)`,
      );
    } else {
      console.log('sandbox relay phase skipped: native/build/nemoclaw-sandbox is not built (make -C native)');
    }
    const ok = (sandboxRatio ?? ratio) >= 0.8 && added < 1 && (sandboxAdded ?? 0) < 1 && sandboxTunnelsOk && errors === 0 && held.length === TUNNELS && during.hwmMB < 200;
    const steal = stealSince(runStart);
    results.hostStealPercent = steal;
    console.log(`host steal over the whole run: ${steal.toFixed(0)}% of CPU time (a shared VM: above a few percent, every ratio here is noisy)`);
    console.log(`summary: ${ok ? 'all targets met' : 'SOME TARGETS MISSED'}`);
    const bulkRatio = sandboxRatio ?? ratio;
    report({ bench: 'egress', metric: sandboxRatio === undefined ? 'bulk through the proxy' : 'bulk through a sandbox (worse origin)', value: bulkRatio, unit: 'x direct', ratio: bulkRatio, baseline: 'curl direct', target: '>= 0.80', met: bulkRatio >= 0.8 });
    report({ bench: 'egress', metric: 'keep-alive GET, added median', value: sandboxAdded ?? added, unit: 'ms', target: '< 1 ms', met: (sandboxAdded ?? added) < 1 });
    report({ bench: 'egress', metric: 'tunnels held and echoing', value: held.length, unit: 'tunnels', ratio: held.length / TUNNELS, baseline: 'requested', target: `${TUNNELS}, 0 errors`, met: held.length === TUNNELS && errors === 0 && sandboxTunnelsOk });
    report({ bench: 'egress', metric: 'proxy RSS peak', value: during.hwmMB, unit: 'MB', target: '< 200 MB', met: during.hwmMB < 200 });
    console.log(JSON.stringify(results));
  } finally {
    child.stdin.end();
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r(null);
      }, 5000);
      child.once('exit', () => {
        clearTimeout(t);
        r(null);
      });
    });
    for (const srv of [source, echo]) srv.close();
    http.closeAllConnections();
    http.close();
    sendfileOrigin?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] !== '--proxy-child') await main();
