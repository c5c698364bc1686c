// "Learn from the last N minutes" in the TUI (issue 22), in a real PTY against a real supervisor
// and a real sandbox in learning mode: the Sandboxes pane says it is learning and how many
// destinations it has seen; P on the selected sandbox shows the proposed diff and writes nothing;
// `-`/`+` change the window; n dismisses; P then y writes the revision, which the store shows.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyStore } from '../../src/policy/index.ts';
import { cli, freshHome, serve, workspace } from '../supervisor/harness.ts';
import type { Served } from '../supervisor/harness.ts';
import { waitFor } from '../helpers/wait.ts';
import { spawnOnScreen } from './helpers/pty.ts';
import type { Run } from './helpers/pty.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(root, 'bin/nemoclaw');

let origin: Server;
let port = 0;
let sv: Served;
let tui: Run | null = null;
const name = 'tuilearn';

beforeAll(async () => {
  origin = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`hello from ${req.url}`));
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  port = (origin.address() as AddressInfo).port;
  const home = freshHome();
  sv = await serve(home);
  const file = join(home, 'base.yaml');
  writeFileSync(
    file,
    `version: 1
filesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64, /etc], read_write: [/tmp] }
approvals: { unmatched_egress: audit }
network_policies:
  health:
    endpoints:
      - { host: host.nemoclaw.internal, port: ${port}, protocol: rest, rules: [{ allow: { method: GET, path: /health } }] }
    binaries: [{ path: /usr/bin/curl }]
`,
  );
  const c = await cli(home, ['create', name, '--workspace', workspace(home), '--policy', file, '--', 'sleep', '1000']);
  expect(c.code, c.stderr).toBe(0);
  const r = await cli(home, [name, 'exec', '--', '/usr/bin/curl', '-s', '-X', 'PUT', '-w', ' %{http_code}', `http://host.nemoclaw.internal:${port}/learned/path`]);
  expect(r.stdout).toBe('hello from /learned/path 200');
}, 60_000);

afterAll(async () => {
  if (tui && !tui.exited) {
    tui.p.kill('SIGTERM');
    await Promise.race([tui.exit, new Promise((res) => setTimeout(res, 5000))]);
  }
  tui?.screen.dispose();
  await sv?.stop();
  await new Promise((r) => origin.close(r));
});

async function see(r: Run, text: string | RegExp): Promise<void> {
  const has = (): boolean => (typeof text === 'string' ? r.screen.text().includes(text) : text.test(r.screen.text()));
  await waitFor(has, () => `${String(text)} on the screen:\n${r.screen.text()}\nexited: ${JSON.stringify(r.exited)}`, { withinMs: 30_000 });
}

describe('nemoclaw tui: learn from the last N minutes', () => {
  it('shows the learning sandbox, proposes the diff, writes nothing until y, then writes the revision', async () => {
    const store = new PolicyStore(join(sv.home, 'sandboxes', name, 'policy'));
    tui = spawnOnScreen(BIN, ['tui', '--layout', 'overview'], 160, 48, {
      cwd: root,
      env: { ...process.env, NEMOCLAW_HOME: sv.home, CI: 'true', TERM: 'xterm-256color', NEMOCLAW_NVIDIA_SMI: join(root, 'test/tui/fixtures/fake-nvidia-smi') } as Record<string, string>,
    });
    await see(tui, /tuilearn +learning /);
    await see(tui, 'tuilearn 1 dest seen · 1');
    tui.p.write('1'); // the Sandboxes pane; its only row is selected
    tui.p.write('P');
    await see(tui, `Learn ${name} from the last 10 minutes`);
    await see(tui, `+  learned_host_nemoclaw_internal_${port}:`);
    await see(tui, 'method: PUT');
    await see(tui, 'path: /learned/path');
    await see(tui, `proposed: host.nemoclaw.internal:${port}`);
    expect(tui.screen.text()).toContain('nothing written until y');
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);

    // A shorter window still covers the request made a moment ago; n dismisses without writing.
    tui.p.write('-');
    await see(tui, `Learn ${name} from the last 5 minutes`);
    await see(tui, `+  learned_host_nemoclaw_internal_${port}:`);
    tui.p.write('n');
    await see(tui, 'learning proposal dismissed: nothing written');
    expect((await store.history()).map((m) => m.rev)).toEqual([1]);

    tui.p.write('P');
    await see(tui, `+  learned_host_nemoclaw_internal_${port}:`);
    tui.p.write('y');
    await see(tui, `${name}: revision 2 written`);
    const h = await store.history();
    expect(h.map((m) => m.rev)).toEqual([1, 2]);
    expect(h[1]?.source).toBe('learn');
    expect(h[1]?.reason).toBe(`learned in the TUI: host.nemoclaw.internal:${port}`);
    const cur = await store.get();
    expect(cur?.policy.network_policies?.[`learned_host_nemoclaw_internal_${port}`]?.endpoints[0]).toEqual({ host: 'host.nemoclaw.internal', port, protocol: 'rest', rules: [{ allow: { method: 'PUT', path: '/learned/path' } }] });

    tui.p.write('q');
    expect((await tui.exit).exitCode).toBe(0);
  }, 120_000);
});
