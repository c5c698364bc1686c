// Integration (issue 13, part 2): `sandbox run` with network rules starts the same per-sandbox
// egress proxy as a supervised sandbox (in process, its own CA, the same events and audit
// records), and none without them. curl and python3 inside a real sandbox reach a loopback
// origin the policy allows (HTTP, and HTTPS through a CONNECT tunnel), get the proxy's 403 JSON
// for what it does not, and still cannot connect directly. Asks go to the terminal (a real PTY)
// or, without one, are denied; "always" writes the policy file only with --save-approvals.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueLeafCertificate } from '../../src/egress/index.ts';
import { answerEach, bin, runCliOnPty, tempDirs } from './build-helper.ts';
import type { PtyRun } from './build-helper.ts';

const [scratch, state] = tempDirs('nemoclaw-test-run-egress-', 'nemoclaw-test-run-egress-home-') as [string, string];
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, NEMOCLAW_HOME: state };

// Loopback origins on the host (the only network targets tests use).
const http = createHttpServer((req, res) => res.end(`hello ${req.url ?? ''}`));
const ca = createCertificateAuthority('test origin');
const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const tls = createHttpsServer(
  { key: leafKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: issueLeafCertificate(ca, leafKey, '127.0.0.1').certPem },
  (req, res) => res.end(`secure ${req.url ?? ''}`),
);
// The same origin by its reserved name (a certificate for host.nemoclaw.internal).
const tlsNamed = createHttpsServer(
  { key: leafKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: issueLeafCertificate(ca, leafKey, 'host.nemoclaw.internal').certPem },
  (req, res) => res.end(`named ${req.url ?? ''}`),
);
let httpPort = 0;
let tlsPort = 0;
let tlsNamedPort = 0;
beforeAll(async () => {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => tlsNamed.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as AddressInfo).port;
  tlsPort = (tls.address() as AddressInfo).port;
  tlsNamedPort = (tlsNamed.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => http.close(r));
  await new Promise((r) => tls.close(r));
  await new Promise((r) => tlsNamed.close(r));
});

// Node's fetch honours HTTP(S)_PROXY from Node 24 (NODE_USE_ENV_PROXY=1, set for every sandbox):
// the project's own Node, bound read-only.
const NODE = process.execPath;

function policy(name: string, body: string): string {
  const file = join(scratch, name);
  writeFileSync(file, `version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /lib, /etc/ssl], read_write: [/tmp] }\n${body}`);
  return file;
}

const allowBoth = (): string =>
  policy(
    'allow.yaml',
    `network_policies:
  origin:
    name: origin
    endpoints:
      - { host: 127.0.0.1, port: ${httpPort}, allowed_ips: [127.0.0.1] }
      - { host: 127.0.0.1, port: ${tlsPort}, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }, { path: /usr/bin/python3* }]
`,
  );

/** One run, asynchronously: the origins answer from this very process, so it must not block. */
function run(args: string[], script: string): Promise<{ status: number | null; stdout: string; stderr: string; ws: string }> {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  writeFileSync(join(ws, 'origin-ca.pem'), ca.certPem);
  const p = spawn(bin, ['sandbox', 'run', ...args, '--workspace', ws, '--', 'sh', '-c', script], { cwd: ws, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on('close', (status) => resolve({ status, stdout, stderr, ws })));
}

// The sandbox's own loopback is exempt from the proxy (NO_PROXY): these requests name the proxy
// explicitly, since the origins live on the host's loopback.
const CURL = 'curl -s -m 20 --noproxy "" -x http://127.0.0.1:3128';

describe('sandbox run starts an egress proxy for a policy with network rules (real helper, real proxy)', () => {
  it('allowed HTTP and HTTPS from curl, HTTP from python3; the denied get the 403 JSON; direct connects fail', async () => {
    const py = `NO_PROXY= no_proxy= python3 -c "import urllib.request as u; o = u.build_opener(u.ProxyHandler({'http': 'http://127.0.0.1:3128'})); print(o.open('http://127.0.0.1:${httpPort}/py').read().decode())"`;
    const r = await run(['--policy', allowBoth(), '--events', 'events.ndjson'], [
      `${CURL} http://127.0.0.1:${httpPort}/a; echo`,
      `${CURL} --cacert origin-ca.pem https://127.0.0.1:${tlsPort}/b; echo`,
      py,
      `${CURL} -o denied.json -w "%{http_code}\\n" http://127.0.0.1:1/`,
      `curl -s -m 5 --noproxy "*" http://127.0.0.1:${httpPort}/direct; echo "direct=$?"`,
    ].join('; '));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['hello /a', 'secure /b', 'hello /py', '403', 'direct=7', '']);
    const denied = JSON.parse(readFileSync(join(r.ws, 'denied.json'), 'utf8')) as { error: string; host: string; port: number; binary: string };
    expect(denied).toMatchObject({ error: 'policy_denied', host: '127.0.0.1', port: 1, binary: '/usr/bin/curl' });
    // The proxy's CA and socket are per run and gone after it.
    expect(readdirSync(join(state, 'run', 'x')).filter((n) => n.startsWith('r-'))).toEqual([]);
  });

  it("a 403's hint names the policy file and the entry to add; pasted there, the request passes", async () => {
    const file = policy('hinted.yaml', `network_policies:\n  other:\n    endpoints: [{ host: host.nemoclaw.internal, port: 1 }]\n`);
    const get = `curl -s -m 20 -o out.json -w "%{http_code}" http://host.nemoclaw.internal:${httpPort}/hinted`;
    const first = await run(['--policy', file], get);
    expect(first.stdout, first.stderr).toBe('403');
    const { hint } = JSON.parse(readFileSync(join(first.ws, 'out.json'), 'utf8')) as { hint: string };
    // Not `nemoclaw policy add --sandbox ...`: that edits a supervisor's store, which a one-shot run has none of.
    const prefix = `add under network_policies in ${file}: `;
    expect(hint).toBe(`${prefix}allow_host_nemoclaw_internal_${httpPort}: { endpoints: [{ host: "host.nemoclaw.internal", port: ${httpPort} }], binaries: [{ path: "/usr/bin/curl" }] }`);
    writeFileSync(file, `${readFileSync(file, 'utf8')}  ${hint.slice(prefix.length)}\n`);
    const second = await run(['--policy', file], `${get}; cat out.json`);
    expect(second.stdout, second.stderr).toBe('200hello /hinted');
  });

  it('the audit log holds the proxy records of the run', async () => {
    const r = await run(['--policy', allowBoth()], `${CURL} -o /dev/null http://127.0.0.1:1/denied-for-audit`);
    expect(r.status, r.stderr).toBe(0);
    // The log's segments (src/audit): one JSON record per line; the proxy's denial is among them.
    const records = readdirSync(join(state, 'audit'))
      .filter((n) => n.startsWith('seg-'))
      .flatMap((n) => readFileSync(join(state, 'audit', n), 'utf8').trim().split('\n'))
      .map((l) => (JSON.parse(l) as { event: { kind?: string; sandbox?: string; target?: string } }).event);
    const start = records.find((x) => x.kind === 'sandbox.lifecycle' && x.target === r.ws);
    expect(start).toBeDefined();
    const denied = records.filter((x) => x.kind === 'egress.denied' && x.sandbox === start?.sandbox);
    expect(denied.length).toBeGreaterThan(0);
  });

  it('without network rules there is no proxy: the relay refuses (no proxy configured)', async () => {
    const r = await run(['--policy', policy('none.yaml', ''), '--events', 'events.ndjson'], `${CURL} -m 5 http://127.0.0.1:${httpPort}/; echo "rc=$?"`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rc=(52|56)\n$/);
    const events = readFileSync(join(r.ws, 'events.ndjson'), 'utf8');
    expect(events).toContain('"reason":"no proxy configured"');
  });

  it('host.nemoclaw.internal reaches the host loopback service a rule names; 127.0.0.1 stays the sandbox own', async () => {
    const file = policy('host-internal.yaml', `network_policies:\n  dev:\n    endpoints: [{ host: host.nemoclaw.internal, port: ${httpPort} }]\n    binaries: [{ path: /usr/bin/curl }]\n`);
    // Plain curl: the proxy variables lead there, NO_PROXY keeps the sandbox's own loopback its own.
    const r = await run(['--policy', file], [
      `curl -s -m 20 http://host.nemoclaw.internal:${httpPort}/dev; echo`,
      `curl -s -m 20 -o /dev/null -w "%{http_code}\\n" http://host.nemoclaw.internal:${tlsPort}/`,
      `curl -s -m 5 http://127.0.0.1:${httpPort}/; echo "own-loopback=$?"`,
    ].join('; '));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`hello /dev\n403\nown-loopback=7\n`);
  });

  it("Node's fetch: HTTP and HTTPS to host.nemoclaw.internal through the proxy", async () => {
    const file = join(scratch, 'node.yaml');
    writeFileSync(
      file,
      `version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /lib, /etc/ssl, ${dirname(NODE)}], read_write: [/tmp] }\n` +
        `network_policies:\n  dev:\n    endpoints: [{ host: host.nemoclaw.internal, port: ${httpPort} }, { host: host.nemoclaw.internal, port: ${tlsNamedPort} }]\n    binaries: [{ path: ${NODE} }]\n`,
    );
    const js = `for (const u of ['http://host.nemoclaw.internal:${httpPort}/node', 'https://host.nemoclaw.internal:${tlsNamedPort}/node']) console.log(await (await fetch(u)).text());`;
    const r = await run(['--policy', file], `NODE_EXTRA_CA_CERTS=origin-ca.pem ${NODE} --input-type=module -e "${js}"`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello /node\nnamed /node\n');
  });

  it('an ask without a terminal is denied', async () => {
    const file = policy('ask-noterm.yaml', 'approvals: { unmatched_egress: ask }\n');
    const r = await run(['--policy', file, '--save-approvals'], `${CURL} -w "%{http_code}" -o /dev/null http://127.0.0.1:${httpPort}/`);
    expect(r.stdout).toBe('403');
    expect(readFileSync(file, 'utf8')).not.toContain('always_');
  });
});

/** Runs the CLI on a PTY, answering each egress question with `answer`. */
function onPty(args: string[], answer: string): Promise<PtyRun> {
  const ws = mkdtempSync(join(scratch, 'pty-'));
  return runCliOnPty([...args, '--workspace', ws], { cwd: ws, env, cols: 200, onScreen: answerEach('[y/N/a(lways)]', answer) });
}

/** GET /ok allowed on the origin (its address listed); anything else there is asked. */
const askPolicy = (name: string): string =>
  policy(
    name,
    `approvals: { unmatched_egress: ask }
network_policies:
  origin:
    name: origin
    endpoints:
      - { host: 127.0.0.1, port: ${httpPort}, protocol: rest, rules: [{ allow: { method: GET, path: /ok } }], allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }]
`,
  );

describe('egress asks on a terminal (real PTY)', () => {
  it('y allows once; the policy file is not changed', async () => {
    const file = askPolicy('ask-y.yaml');
    const before = readFileSync(file, 'utf8');
    const r = await onPty(['sandbox', 'run', '--policy', file, '--', 'sh', '-c', `${CURL} http://127.0.0.1:${httpPort}/once`], 'y');
    expect(r.text).toContain(`nemoclaw: allow GET 127.0.0.1:${httpPort}/once from /usr/bin/curl? [y/N/a(lways)]`);
    expect(r.text).toContain('hello /once');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('a(lways) with --save-approvals writes the rule into the policy file', async () => {
    const file = askPolicy('ask-a.yaml');
    const r = await onPty(['sandbox', 'run', '--policy', file, '--save-approvals', '--', 'sh', '-c', `${CURL} http://127.0.0.1:${httpPort}/always`], 'a');
    expect(r.text).toContain('hello /always');
    expect(r.text).toContain(`saved to ${file}`);
    const saved = readFileSync(file, 'utf8');
    expect(saved).toContain(`always_allow_GET_127_0_0_1_${httpPort}_curl`);
    // The next run is allowed without a question: the rule is in the file.
    const again = await run(['--policy', file], `${CURL} http://127.0.0.1:${httpPort}/always`);
    expect(again.stdout).toBe('hello /always');
  });

  it('n denies: the workload gets the 403', async () => {
    const file = askPolicy('ask-n.yaml');
    const r = await onPty(['sandbox', 'run', '--policy', file, '--', 'sh', '-c', `${CURL} -w " code=%{http_code}" -o /dev/null http://127.0.0.1:${httpPort}/no`], 'n');
    expect(r.text).toContain('code=403');
  });
});
