// The relay's digest of the calling executable (native/src/relay.c, exe_sha) is cached per
// version of the file. A workload that can write a binary it runs must not be able to rewrite it
// in place, keep its size, put its mtime back with `touch -r`, and have the relay report the old
// digest: the pin (src/egress) would then trust the new bytes. ctime (which user space cannot
// set) is part of the cache key. Runs the real helper and the real proxy (the global setup builds the
// helper or fails the run). NEMOCLAW_HELPER picks another helper build (used to show this test fails on the old key).
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesFrom, runInSandbox, startOrigins, startProxy } from '../egress/harness.ts';
import type { Origin, ProxyFixture, SandboxRun } from '../egress/harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HELPER = process.env.NEMOCLAW_HELPER || join(ROOT, 'native/build/nemoclaw-sandbox');

let origin: Origin;
let fx: ProxyFixture;

beforeAll(async () => {
  origin = await startOrigins();
  // Any binary may reach api.test: only the pin can refuse the second request.
  fx = await startProxy(rulesFrom(`network_policies:\n  any:\n    endpoints:\n      - { host: api.test, port: ${origin.httpPort}, allowed_ips: [127.0.0.1] }\n`), origin);
});
afterAll(async () => {
  await fx?.close();
  await origin?.close();
});

function sandboxed(script: string): Promise<SandboxRun> {
  return runInSandbox(fx, script, { helper: HELPER, rw: ['/tmp'] });
}

// The vitest global setup builds the helper or fails the run, so nothing here can be skipped.
describe('relay digest cache (real sandbox, real proxy)', () => {
  it('a binary rewritten in place with the same size and its mtime restored (touch -r) is reported with its new digest and denied as replaced', { timeout: 60_000 }, async () => {
    const url = `http://api.test:${origin.httpPort}`;
    // A copy of curl with a 4 KiB tail that the ELF loader ignores: rewriting the tail changes
    // the bytes (and the digest) but not what the program does.
    const script = `set -e
cp /usr/bin/curl /tmp/c
head -c 4096 /dev/zero | tr '\\000' A >> /tmp/c
chmod 755 /tmp/c
/tmp/c -s -o /dev/null -w 'first %{http_code}\\n' ${url}/first
before=$(stat -c '%s %.9Y' /tmp/c)
touch -r /tmp/c /tmp/ref
size=$(stat -c %s /tmp/c)
printf BBBB | dd of=/tmp/c bs=1 seek=$((size - 4)) conv=notrunc 2>/dev/null
touch -r /tmp/ref /tmp/c
after=$(stat -c '%s %.9Y' /tmp/c)
[ "$before" = "$after" ] && echo "size and mtime kept"
/tmp/c -s -w ' second %{http_code}\\n' ${url}/second
`;
    const r = await sandboxed(script);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0], r.stderr).toBe('first 200');
    expect(lines[1]).toBe('size and mtime kept');
    expect(r.stdout.trim()).toMatch(/"error":"binary_replaced"[\s\S]* second 403$/);
    const pinned = fx.events.filter((e) => e.type === 'binary_pinned' && e.binary === '/tmp/c');
    const replaced = fx.events.filter((e) => e.type === 'binary_replaced' && e.binary === '/tmp/c');
    expect(pinned).toHaveLength(1);
    expect(replaced).toHaveLength(1);
    expect(fx.events.some((e) => e.type === 'egress_denied' && e.path === '/second')).toBe(true);
    expect(origin.seen.map((s) => s.url)).not.toContain('/second');
  });
});
