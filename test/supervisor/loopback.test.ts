// One loopback rule in both modes (issue 13, part 3; docs/egress.md "Loopback"), in a real
// supervised sandbox: the sandbox's own loopback is its own (a server the workload starts there is
// reached directly, NO_PROXY exempting it, as under `sandbox run`); the host's loopback services are
// reached only as host.nemoclaw.internal, through the proxy, on the ports a rule names. The host's
// service by its literal address lands in the sandbox's private loopback, where nothing of the host
// is: the probe is shown to reach the service when run outside the sandbox.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, freshHome, serve, workspace } from './harness.ts';
import type { Served } from './harness.ts';

const HOST = 'host.nemoclaw.internal';
let origin: Server;
let hostPort = 0;
/** A port no rule names, served on the host too, to show the name grants only the named port. */
let other: Server;
let otherPort = 0;
/** Where the workload's own server listens, inside the sandbox. */
const OWN_PORT = 18080;

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

beforeAll(async () => {
  origin = createServer((req, res) => res.end(`host service ${req.url}`));
  hostPort = await listen(origin);
  other = createServer((_req, res) => res.end('other host service'));
  otherPort = await listen(other);
});
afterAll(async () => {
  await new Promise((r) => origin.close(r));
  await new Promise((r) => other.close(r));
});

const curl = (url: string) => ['/usr/bin/curl', '-s', '-m', '10', '-w', ' %{http_code}', url];

describe('loopback in a supervised sandbox', { timeout: 120_000 }, () => {
  let sv: Served;
  const name = 'lo';
  beforeAll(async () => {
    const home = freshHome();
    sv = await serve(home);
    const file = join(home, 'policy.yaml');
    writeFileSync(
      file,
      `version: 1
filesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64, /etc], read_write: [/tmp] }
loopback: { bind: [${OWN_PORT}], connect: [${OWN_PORT}] }
approvals: { unmatched_egress: deny }
network_policies:
  dev_server:
    endpoints: [{ host: ${HOST}, port: ${hostPort} }]
    binaries: [{ path: /usr/bin/curl }]
`,
    );
    // The workload is the sandbox's own dev server, on its private loopback.
    const c = await cli(home, ['create', name, '--workspace', workspace(home), '--policy', file, '--', '/usr/bin/python3', '-m', 'http.server', String(OWN_PORT), '--bind', '127.0.0.1', '--directory', '/tmp']);
    expect(c.code, c.stderr).toBe(0);
  });
  afterAll(async () => {
    await sv?.stop();
  });

  it("the sandbox's own server is reached directly, with the proxy variables set", async () => {
    const env = await cli(sv.home, [name, 'exec', '--', '/usr/bin/env']);
    expect(env.stdout).toContain('NO_PROXY=localhost,127.0.0.1,::1');
    expect(env.stdout).toContain('HTTP_PROXY=http://127.0.0.1:3128');
    // python3 needs a moment to bind: retry a bounded number of times inside the sandbox.
    const r = await cli(sv.home, [name, 'exec', '--', '/bin/sh', '-c', `for i in $(seq 1 50); do out=$(/usr/bin/curl -s -m 5 -o /dev/null -w "%{http_code}" http://127.0.0.1:${OWN_PORT}/) && [ "$out" = 200 ] && break; sleep 0.1; done; echo "own=$out"`]);
    expect(r.stdout.trim()).toBe('own=200');
    const local = await cli(sv.home, [name, 'exec', '--', ...curl(`http://localhost:${OWN_PORT}/`)]);
    expect(local.stdout).toMatch(/ 200$/);
  });

  it('the host service a rule names is reached as host.nemoclaw.internal', async () => {
    const r = await cli(sv.home, [name, 'exec', '--', ...curl(`http://${HOST}:${hostPort}/hello`)]);
    expect(r.stdout).toBe('host service /hello 200');
  });

  it('host.nemoclaw.internal on a port no rule names is refused by the proxy', async () => {
    const r = await cli(sv.home, [name, 'exec', '--', ...curl(`http://${HOST}:${otherPort}/`)]);
    expect(r.stdout).toMatch(/ 403$/);
    expect(r.stdout).not.toContain('other host service');
  });

  it("the host's service by its literal address is not reachable: 127.0.0.1 is the sandbox's own", async () => {
    // The same probe outside the sandbox reaches the service (so it can detect an escape).
    const outside = await execa('/usr/bin/curl', ['-s', '-m', '5', `http://127.0.0.1:${hostPort}/hello`], { reject: false });
    expect(outside.stdout).toBe('host service /hello');
    const inside = await cli(sv.home, [name, 'exec', '--', '/bin/sh', '-c', `/usr/bin/curl -s -m 5 http://127.0.0.1:${hostPort}/hello; echo " rc=$?"`]);
    expect(inside.stdout).not.toContain('host service');
    expect(inside.stdout).toMatch(/rc=(7|28)\b/); // 7: refused (Landlock or nothing listening), 28: timeout
  });
});
