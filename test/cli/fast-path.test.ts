// The CLI's fast path (issue 23): `list`, `events`, `NAME status|logs|chat|exec|stop|start|restart|pins`,
// `approvals list|approve|deny`, `audit
// verify|tail`, the listings (`audit checkpoints`, `providers|agents list`, `policy presets`) and
// more in their plain shapes run without commander (src/cli/commands.ts FAST_VERBS). Each
// shape here runs both ways, fast and through commander (NEMOCLAW_CLI_FAST=0), against a real
// supervisor, without one, and on bad input: stdout, stderr and the exit status must be the same.
// Which argv take the fast path at all is fastRoute's, tested as a table. Last, what the listings
// (fast or not) do when their reader goes away (`| head`): status 0, nothing on stderr.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/index.ts';
import { fastRoute } from '../../src/cli/commands.ts';
import { MAIN, NODE, cli, freshHome, serve, workspace } from '../supervisor/harness.ts';
import type { CliResult, Served } from '../supervisor/harness.ts';
import { waitFor } from '../helpers/wait.ts';

const POLICY = `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /bin, /lib, /lib64, /etc]
  read_write: [/tmp]
`;

/** The shape run fast and through commander; both answers, which the caller compares. */
async function bothWays(home: string, args: string[], env: Record<string, string> = {}): Promise<{ fast: CliResult; commander: CliResult }> {
  expect(fastRoute(args), `${args.join(' ')} takes the fast path`).toBeDefined();
  const fast = await cli(home, args, undefined, env);
  const commander = await cli(home, args, undefined, { ...env, NEMOCLAW_CLI_FAST: '0' });
  return { fast, commander };
}

async function expectSame(home: string, shapes: string[][], env: Record<string, string> = {}): Promise<CliResult[]> {
  const out: CliResult[] = [];
  for (const args of shapes) {
    const { fast, commander } = await bothWays(home, args, env);
    expect(fast, args.join(' ')).toEqual(commander);
    out.push(fast);
  }
  return out;
}

describe('fastRoute: which arguments skip commander', () => {
  it.each([
    [['list'], { json: undefined }],
    [['list', '--json'], { json: true }],
    [['events'], { since: '0' }],
    [['events', '--since', '5', '--sandbox', 'my-box', '--json', '--follow'], { since: '5', sandbox: 'my-box', json: true, follow: true }],
    [['my-box', 'status'], {}],
    [['my-box', 'status', '--json'], { json: true }],
    [['my-box', 'logs', '--follow', '--tail', '5', '--since', '10m', '--raw', '--json'], { follow: true, tail: '5', since: '10m', raw: true, json: true }],
    [['approvals', 'list', '--socket', '/tmp/x.sock'], { socket: '/tmp/x.sock' }],
    [['approvals', 'approve', '0a1b'], { always: undefined }],
    [['approvals', 'deny', 'ff', '--always', '--json', '--socket', '/tmp/x.sock'], { always: true, json: true, socket: '/tmp/x.sock' }],
    [['audit', 'verify', '--trusted-checkpoint', 'cp.json', '--keys', 'k.json'], { trustedCheckpoint: 'cp.json', keys: 'k.json' }],
    [['audit', 'tail'], { lines: '20' }],
    [['audit', 'tail', '-n', '3', '-f'], { lines: '3', follow: true }],
    [['audit', 'tail', '--lines', '0', '--json'], { lines: '0', json: true }],
    [['my-box', 'chat', 'hello', 'there', '--json'], { json: true }],
    [['my-box', 'exec', '--', 'true'], { tty: undefined }],
    [['my-box', 'stop'], { json: undefined }],
    [['my-box', 'start', '--json'], { json: true }],
    [['my-box', 'restart'], { json: undefined }],
    [['my-box', 'pins', '--json'], { json: true }],
    [['my-box', 'exec', '--tty', '--', 'sh', '-c', 'tty'], { tty: true }],
    [['policy', 'validate', 'a.yaml'], { kind: 'auto' }],
    [['policy', 'validate', 'a.yaml', '--kind', 'preset', 'b.yaml', '--json'], { kind: 'preset', json: true }],
    [['policy', 'explain', 'p.yaml', '--json'], { json: true }],
    [['policy', 'presets', '--json'], { json: true }],
    [['audit', 'checkpoints', '--last', '--json'], { last: true, json: true }],
    [['providers', 'list'], { json: undefined }],
    [['agents', 'list', '--json'], { json: true }],
    [['models', 'list', '--json'], { json: true }],
    [['sandbox', 'run', '--', 'true'], {}],
    [['sandbox', 'run', '--policy', 'p.yaml', '--workspace', '/w', '--json', '--tty', '--', 'sh', '-c', 'exit 3'], { policy: 'p.yaml', workspace: '/w', json: true, tty: true }],
  ])('%j is a plain shape', (args, flags) => {
    const r = fastRoute(args);
    expect(r).toBeDefined();
    for (const [k, v] of Object.entries(flags)) expect(r?.flags[k]).toBe(v);
  });

  it.each([
    [[]],
    [['list', '--help']],
    [['list', '-h']],
    [['list', 'extra']],
    [['events', 'extra']],
    [['events', '--since']],
    [['list', '--json', '--json']],
    [['list', '--jsn']],
    [['my-box', 'logs', '--tail']],
    [['my-box', 'logs', '--tail', '-1']],
    [['my-box', 'logs', '--tail=5']],
    [['my-box', 'logs', '--', '--json']],
    [['audit', 'tail', '-n', '2', '--lines', '3']],
    [['audit', 'tail', '-fn2']],
    [['audit', 'export']],
    [['help', 'status']],
    [['list', 'status']],
    [['audit', 'status']],
    [['My-Box', 'status']],
    [['a b', 'status']],
    [['-x', 'status']],
    [['constructor', 'status', 'constructor']],
    [['my-box', 'stop', 'now']],
    [['my-box', 'destroy', '--yes']],
    [['my-box', 'unpin']],
    [['approvals', 'approve']],
    [['approvals', 'approve', 'a', 'b']],
    [['approvals', 'deny', '--', 'a']],
    [['approvals', 'decide', 'a']],
    [['my-box', 'chat']],
    [['my-box', 'chat', '--history']],
    [['my-box', 'exec', 'true']],
    [['my-box', 'exec', '--']],
    [['my-box', 'exec', '--json', '--', 'true']],
    [['my-box', 'exec', '--tty', '--tty', '--', 'true']],
    [['my-box', 'chat', 'hi', '--history', '5']],
    [['policy', 'validate']],
    [['policy', 'validate', '--', 'a.yaml']],
    [['policy', 'validate', 'a.yaml', '--kind']],
    [['policy', 'explain', 'a.yaml', 'b.yaml']],
    [['policy', 'explain']],
    [['policy', 'simulate', 'a.yaml']],
    [['policy', 'presets', 'extra']],
    [['audit', 'checkpoints', '--last', '--last']],
    [['providers', 'list', '--verbose']],
    [['providers', 'add', 'x']],
    [['agents', 'list', 'openclaw']],
    [['models', 'list', '--all']],
    [['sandbox', 'run', 'true']],
    [['sandbox', 'run', '--']],
    [['sandbox', 'run', 'x', '--', 'true']],
    [['sandbox', 'run', '--policy', '--', 'true']],
    [['sandbox', 'run', '--help', '--', 'true']],
  ])('%j goes to commander', (args) => {
    expect(fastRoute(args)).toBeUndefined();
  });
});

describe('fastRoute: operands', () => {
  it("are policy validate's and explain's files, and the command after sandbox run's and exec's --", () => {
    expect(fastRoute(['policy', 'validate', 'a.yaml', '--json', 'b.yaml'])?.operands).toEqual(['a.yaml', 'b.yaml']);
    expect(fastRoute(['policy', 'explain', 'p.yaml'])?.operands).toEqual(['p.yaml']);
    // After `--`, flags of the command are its own, not nemoclaw's.
    expect(fastRoute(['sandbox', 'run', '--json', '--', 'ls', '--json', '-la', '--'])).toMatchObject({ flags: { json: true }, operands: ['ls', '--json', '-la', '--'] });
    expect(fastRoute(['my-box', 'exec', '--', 'sh', '--tty', '--'])).toMatchObject({ name: 'my-box', flags: {}, operands: ['sh', '--tty', '--'] });
  });
});

describe('fast path and commander give the same answers', { timeout: 120_000 }, () => {
  let sv: Served;
  let home = '';
  beforeAll(async () => {
    home = freshHome();
    const ws = workspace(home);
    sv = await serve(home);
    const policy = join(ws, '..', `${ws.split('/').pop()}-policy.yaml`);
    writeFileSync(policy, POLICY);
    // A sandbox with output on both streams (a multi-byte character, a terminal escape) and one
    // that never ran.
    const c = await cli(home, ['create', 'talker', '--workspace', ws, '--policy', policy, '--', 'sh', '-c', 'echo one; echo "tw\u00f6 \u001b[31mred"; echo err >&2']);
    expect(c.code, c.stderr + c.stdout).toBe(0);
    expect((await cli(home, ['create', 'idle', '--stopped', '--workspace', ws, '--policy', policy, '--', 'true'])).code).toBe(0);
    // One that runs, for exec.
    expect((await cli(home, ['create', 'runner', '--workspace', ws, '--policy', policy, '--', 'sleep', '600'])).code).toBe(0);
    await waitFor(async () => ((await sv.api.call<{ sandbox: { state: string } }>('GET', '/v1/sandboxes/talker')).sandbox.state === 'exited' ? true : null), 'talker exits', { withinMs: 20_000 });
    await waitFor(async () => ((await sv.api.call<{ sandbox: { state: string } }>('GET', '/v1/sandboxes/runner')).sandbox.state === 'running' ? true : null), 'runner runs', { withinMs: 20_000 });
  });
  afterAll(async () => {
    await sv.stop();
  });

  it('with a supervisor running', async () => {
    const [list, listJson, status, , , , , logs, logsJson] = await expectSame(home, [
      ['list'],
      ['list', '--json'],
      ['talker', 'status'],
      ['talker', 'status', '--json'],
      ['idle', 'status'],
      ['nobody', 'status'],
      ['nobody', 'status', '--json'],
      ['talker', 'logs'],
      ['talker', 'logs', '--json'],
      ['talker', 'logs', '--raw', '--json'],
      ['talker', 'logs', '--tail', '1'],
      ['talker', 'logs', '--since', '1d'],
      ['talker', 'logs', '--tail', 'many'],
      ['talker', 'logs', '--since', 'yesterday'],
      ['nobody', 'logs'],
      ['approvals', 'list'],
      ['approvals', 'list', '--json'],
      ['approvals', 'list', '--socket', join(home, 'run', 'api.sock')],
      ['approvals', 'list', '--socket', join(home, 'run', 'none.sock')],
      ['talker', 'chat', 'hello'],
      ['talker', 'chat', 'hello', '--json'],
      ['nobody', 'chat', 'hello'],
    ]);
    // The event stream of a sandbox that no longer changes, past its end, and a bad --since.
    const [events, eventsJson, pastEnd, badSince] = await expectSame(home, [
      ['events', '--sandbox', 'talker'],
      ['events', '--sandbox', 'talker', '--since', '2', '--json'],
      ['events', '--since', '1000000'],
      ['events', '--since', 'x'],
    ]);
    expect(events?.stdout).toMatch(/ talker sandbox\.created /);
    expect(eventsJson?.stdout.trim().split('\n').map((l) => JSON.parse(l).sandbox)).toContain('talker');
    expect(pastEnd).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(badSince).toMatchObject({ code: 2, stderr: expect.stringMatching(/--since: a sequence number/) });
    // Decisions (a real one: test/supervisor/approvals.test.ts): an id the queue never makes, one
    // that is not pending, as JSON, and a socket nobody serves.
    const [notId, notPending, asJson, noQueue] = await expectSame(home, [
      ['approvals', 'approve', 'not-an-id'],
      ['approvals', 'deny', 'abc123'],
      ['approvals', 'approve', 'abc123', '--always', '--json'],
      ['approvals', 'deny', 'abc123', '--socket', join(home, 'run', 'none.sock')],
    ]);
    expect(notId).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^nemoclaw: no pending approval not-an-id: ids are hexadecimal/) });
    expect(notPending).toMatchObject({ code: 1, stderr: expect.stringMatching(/^nemoclaw: no pending approval abc123 \(unknown, timed out, or already decided\)/) });
    expect(JSON.parse(asJson?.stdout ?? '')).toEqual({ ok: false, reason: expect.stringMatching(/^no pending approval abc123 /) });
    expect(noQueue).toMatchObject({ code: 1, stderr: expect.stringMatching(/no approval queue/) });
    // The lifecycle verbs and pins. A restart answers with the new process, so its two answers
    // are compared without the pid and the last exit; the rest are the same answers.
    const restarts = await bothWays(home, ['runner', 'restart']);
    const noPid = (r: CliResult): CliResult => ({ ...r, stdout: r.stdout.replace(/\(pid \d+\)/, '(pid N)').replace(/ {2}last exit: .*$/m, '') });
    expect(noPid(restarts.fast)).toEqual(noPid(restarts.commander));
    expect(restarts.fast).toMatchObject({ code: 0, stdout: expect.stringMatching(/^runner {2}running \(pid \d+\)/) });
    const [idleStop, idleStopJson, pins, pinsJson, none] = await expectSame(home, [['idle', 'stop'], ['idle', 'stop', '--json'], ['runner', 'pins'], ['runner', 'pins', '--json'], ['nobody', 'restart']]);
    expect(idleStop).toMatchObject({ code: 0, stdout: expect.stringMatching(/^idle {2}stopped/) });
    expect(JSON.parse(idleStopJson?.stdout ?? '')).toMatchObject({ sandbox: { name: 'idle', state: 'stopped' } });
    expect(pins).toEqual({ code: 0, stdout: 'nothing pinned in runner\n', stderr: '' });
    expect(JSON.parse(pinsJson?.stdout ?? '')).toEqual({ pins: {} });
    expect(none).toMatchObject({ code: 4, stderr: expect.stringMatching(/no sandbox named nobody/) });
    // exec: the command's output and status, a command that is not there, a stopped sandbox (5)
    // and no such sandbox (4).
    const [out, missing, stopped, nobody] = await expectSame(home, [
      ['runner', 'exec', '--', 'sh', '-c', 'printf "one\\ntw\\303\\266 \\033[31mred\\n"; echo err >&2; exit 3'],
      ['runner', 'exec', '--', 'no-such-program'],
      ['idle', 'exec', '--', 'true'],
      ['nobody', 'exec', '--', 'true'],
    ]);
    expect(out).toEqual({ code: 3, stdout: 'one\ntw\u00f6 \u001b[31mred\n', stderr: 'err\n' });
    expect(missing?.code).toBe(127);
    expect(stopped).toMatchObject({ code: 5, stderr: expect.stringMatching(/sandbox idle is not running/) });
    expect(nobody).toMatchObject({ code: 4, stderr: expect.stringMatching(/no sandbox named nobody/) });
    // What was compared is the verbs' real answers.
    expect(list?.stdout).toMatch(/^idle {2}stopped[\s\S]*^talker {2}exited/m);
    expect(JSON.parse(listJson?.stdout ?? '')).toMatchObject({ supervisor: true, sandboxes: [{ name: 'idle' }, { name: 'runner' }, { name: 'talker' }] });
    expect(status?.stdout).toMatch(/^talker {2}exited/);
    expect(logs).toMatchObject({ code: 0, stdout: 'one\ntw\u00f6 \u001b[31mred\n', stderr: 'err\n' });
    expect(logsJson?.stdout.trim().split('\n').map((l) => JSON.parse(l).line)).toEqual(['one', 'tw\u00f6 \u001b[31mred', 'err']);
    const chat = await cli(home, ['talker', 'chat', 'hello']);
    expect(chat).toMatchObject({ code: 1, stderr: expect.stringMatching(/runs its own command, not an installed agent/) });
  });

  it('without a supervisor, and for the audit trail it left', async () => {
    await sv.stop();
    const [list, status, logs, approvals, verify, tail, , , , , , , , exec, decision, eventsNone] = await expectSame(home, [
      ['list'],
      ['talker', 'status'],
      ['talker', 'logs'],
      ['approvals', 'list'],
      ['audit', 'verify'],
      ['audit', 'tail'],
      ['list', '--json'],
      ['talker', 'status', '--json'],
      ['approvals', 'list', '--json'],
      ['audit', 'verify', '--json'],
      ['audit', 'tail', '-n', '2', '--json'],
      ['audit', 'tail', '--lines', 'x'],
      ['audit', 'verify', '--keys', join(home, 'no-such-keys.json')],
      ['runner', 'exec', '--', 'true'],
      ['approvals', 'approve', 'abc123'],
      ['events'],
    ]);
    expect(exec).toMatchObject({ code: 3, stderr: expect.stringMatching(/no supervisor is running/) });
    expect(decision).toMatchObject({ code: 1, stderr: expect.stringMatching(/no approval queue/) });
    expect(eventsNone).toMatchObject({ code: 3, stderr: expect.stringMatching(/no supervisor is running/) });
    expect(list).toMatchObject({ code: 0, stdout: expect.stringMatching(/no supervisor is running/) });
    expect(status).toMatchObject({ code: 3, stderr: expect.stringMatching(/no supervisor is running/) });
    expect(logs?.code).toBe(3);
    expect(approvals).toMatchObject({ code: 1, stderr: expect.stringMatching(/no approval queue/) });
    expect(verify).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok\n/) });
    expect(tail?.stdout).toMatch(/sandbox\.lifecycle/);
  });

  it('the listings: audit checkpoints, providers and agents list, policy presets', async () => {
    // A provider, so that the listing shows a key's fingerprint (never the key).
    const add = await cli(home, ['providers', 'add', 'fake-local', '--type', 'openai-compatible', '--url', 'http://127.0.0.1:9/v1', '--credential-env', 'FAKE_PROVIDER_KEY'], undefined, { FAKE_PROVIDER_KEY: 'sk-fast-path-test' });
    expect(add.code, add.stderr).toBe(0);
    const [checkpoints, last, providers, providersJson, agents, , presets, presetsJson] = await expectSame(home, [
      ['audit', 'checkpoints'],
      ['audit', 'checkpoints', '--last', '--json'],
      ['providers', 'list'],
      ['providers', 'list', '--json'],
      ['agents', 'list'],
      ['agents', 'list', '--json'],
      ['policy', 'presets'],
      ['policy', 'presets', '--json'],
      ['audit', 'checkpoints', '--json'],
    ]);
    // What was compared is the verbs' real answers.
    expect(checkpoints?.stdout).toMatch(/key \S+ \(epoch \d+\)\s+seg \d+\s+root [0-9a-f]+$/m);
    expect(JSON.parse(last?.stdout ?? '')).toMatchObject({ size: expect.any(Number), sig: expect.any(String) });
    expect(providers?.stdout).toMatch(/^fake-local {2}openai-compatible {2}http:\/\/127\.0\.0\.1:9\/v1 {2}local {2}key sha256:[0-9a-f]{12}\n$/);
    expect(providers?.stdout).not.toContain('sk-fast-path-test');
    expect(JSON.parse(providersJson?.stdout ?? '')).toMatchObject([{ name: 'fake-local', key: expect.stringMatching(/^sha256:/) }]);
    expect(agents).toMatchObject({ code: 0, stdout: expect.stringMatching(/^no agents installed in /) });
    expect(presets?.stdout).toMatch(/^github-readonly +\S/m);
    expect(JSON.parse(presetsJson?.stdout ?? '').map((p: { name: string }) => p.name)).toContain('pypi');
  });

  it('models list, with no Docker engine where DOCKER_HOST points', async () => {
    const [list] = await expectSame(home, [['models', 'list'], ['models', 'list', '--json']], { DOCKER_HOST: `unix://${join(home, 'no-engine.sock')}` });
    expect(list).toMatchObject({ code: 1, stderr: expect.stringMatching(/the Docker engine does not answer on .*no-engine\.sock \(ENOENT\)/) });
  });

  it('policy validate and explain, and sandbox run', async () => {
    const dir = workspace(home);
    const good = join(dir, '..', 'good-policy.yaml');
    const bad = join(dir, '..', 'bad-policy.yaml');
    writeFileSync(good, POLICY);
    writeFileSync(bad, `${POLICY}  read_anything: [/]\n`);
    const blueprint = new URL('../../blueprints/openclaw.yaml', import.meta.url).pathname;
    const [valid, invalid, , , explained, , , , run] = await expectSame(home, [
      ['policy', 'validate', good],
      ['policy', 'validate', bad],
      ['policy', 'validate', good, bad, '--json'],
      ['policy', 'validate', blueprint, '--kind', 'blueprint'],
      ['policy', 'explain', good],
      ['policy', 'explain', blueprint, '--json'],
      ['policy', 'validate', '--kind', 'nonsense', good],
      ['policy', 'explain', join(dir, 'missing.yaml')],
      ['sandbox', 'run', '--workspace', dir, '--policy', good, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'],
      ['sandbox', 'run', '--workspace', dir, '--policy', bad, '--', 'true'],
      ['sandbox', 'run', '--workspace', dir, '--', 'cat', '/etc/shadow'],
    ]);
    // What was compared is the verbs' real answers.
    expect(valid).toMatchObject({ code: 0, stdout: `ok ${good} (policy)\n` });
    expect(invalid?.code).toBe(1);
    expect(invalid?.stderr).toMatch(/bad-policy\.yaml:\d+:\d+/);
    expect(explained?.stdout).toMatch(/read/i);
    expect(run).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('a NEMOCLAW_HOME that is no absolute path is the same one-line refusal', async () => {
    const [r] = await expectSame(home, [['list'], ['talker', 'status'], ['approvals', 'list'], ['audit', 'tail']], { NEMOCLAW_HOME: 'relative/home' });
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/NEMOCLAW_HOME must be an absolute path/) });
  });
});

/** The fast path, and commander. */
const BOTH_WAYS: Record<string, string>[] = [{}, { NEMOCLAW_CLI_FAST: '0' }];

/** Runs the CLI with its stdout's reader already gone; its exit status and stderr. */
function withReaderGone(home: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { env: { ...process.env, NEMOCLAW_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.destroy();
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stderr }));
  });
}

describe('a reader that goes away', { timeout: 60_000 }, () => {
  it('ends audit tail quietly with status 0, both ways', async () => {
    const home = freshHome();
    const log = await openAuditLog({ home, heartbeatMs: 0 });
    for (let i = 0; i < 1500; i++) await log.append({ kind: 'egress.denied', sandbox: 'sb', target: `host-${i}.example:443`, decision: 'deny', rule: 'r' });
    await log.close();
    for (const env of BOTH_WAYS) {
      // The output (~200 KB) is more than a pipe holds: the tail writes into a pipe nobody reads.
      expect(await withReaderGone(home, ['audit', 'tail', '-n', '1500'], env), JSON.stringify(env)).toEqual({ code: 0, stderr: '' });
    }
  });

  it('ends audit checkpoints quietly with status 0, both ways, with checkpoints to list', async () => {
    const home = freshHome();
    for (let run = 0; run < 3; run++) {
      const log = await openAuditLog({ home, heartbeatMs: 0 });
      await log.append({ kind: 'sandbox.lifecycle', activity: 'start', sandbox: `sb-${run}` });
      await log.close();
    }
    for (const args of [['audit', 'checkpoints'], ['audit', 'checkpoints', '--json'], ['audit', 'checkpoints', '--last']]) {
      for (const env of BOTH_WAYS) expect(await withReaderGone(home, args, env), `${args.join(' ')} ${JSON.stringify(env)}`).toEqual({ code: 0, stderr: '' });
    }
  });

  it('ends help, the version and the read-only listings quietly with status 0', async () => {
    const home = freshHome();
    const listings = [['list'], ['list', '--json'], ['policy', 'presets'], ['policy', 'schema'], ['--help'], ['help', 'sandbox'], ['--version'], ['completion', 'bash'], ['providers', 'list'], ['agents', 'list', '--json'], ['inference', 'get'], ['doctor', '--json']];
    for (const args of listings) {
      for (const env of BOTH_WAYS) expect(await withReaderGone(home, args, env), `${args.join(' ')} ${JSON.stringify(env)}`).toMatchObject({ code: 0, stderr: expect.not.stringContaining('EPIPE') });
    }
  });

  it('ends NAME logs (both ways) and events quietly with status 0, and exec with 141', async () => {
    const home = freshHome();
    const ws = workspace(home);
    const sv = await serve(home);
    try {
      const policy = join(ws, '..', `${ws.split('/').pop()}-policy.yaml`);
      writeFileSync(policy, POLICY);
      // ~300 KB of log, more than a pipe holds.
      const c = await cli(home, ['create', 'chatty', '--workspace', ws, '--policy', policy, '--', 'sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo "line $i of a log long enough to fill any pipe buffer on the way out"; i=$((i+1)); done']);
      expect(c.code, c.stderr + c.stdout).toBe(0);
      await waitFor(async () => ((await sv.api.call<{ sandbox: { state: string } }>('GET', '/v1/sandboxes/chatty')).sandbox.state === 'exited' ? true : null), 'chatty exits', { withinMs: 20_000 });
      for (const env of BOTH_WAYS) {
        expect(await withReaderGone(home, ['chatty', 'logs'], env), JSON.stringify(env)).toEqual({ code: 0, stderr: '' });
      }
      expect(await withReaderGone(home, ['events', '--since', '0'])).toEqual({ code: 0, stderr: '' });
      // exec ends as a local command cut off by its reader would: 141 (128 + SIGPIPE), quietly;
      // the command it ran (which would print forever) is gone with the session.
      const r = await cli(home, ['create', 'runner', '--workspace', ws, '--policy', policy, '--', 'sleep', '600']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      for (const env of BOTH_WAYS) {
        expect(await withReaderGone(home, ['runner', 'exec', '--', 'sh', '-c', 'while :; do echo y; done'], env), JSON.stringify(env)).toEqual({ code: 141, stderr: '' });
      }
      // The sandbox's processes by command line: the workload is there, the loop is not (killed
      // once the supervisor saw the hang-up, which may take a moment).
      const processes = async (): Promise<string> => (await cli(home, ['runner', 'exec', '--', 'sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done'])).stdout;
      await waitFor(async () => ((await processes()).includes('while :') ? null : true), 'the cut-off command is gone', { withinMs: 10_000 });
      expect(await processes()).toMatch(/^sleep 600 $/m);
    } finally {
      await sv.stop();
    }
  });
});
