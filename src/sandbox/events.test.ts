import { describe, expect, it } from 'vitest';
import { LineSplitter, parseHelperEvent } from './events.ts';

const READY_LINE = JSON.stringify({
  type: 'ready',
  enforcement: {
    landlock: { abi: 7, fs_rights_handled: 65535, net: true, scoped: ['signal', 'abstract_unix_socket'] },
    seccomp: { mode: 'filter', filters: 2, notify: true },
    no_new_privs: true,
    cap_eff: '0',
    cap_prm: '0',
    cap_bnd: '0',
    cap_amb: '0',
    namespaces: ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'],
    cgroup: { version: 1, path: '/nemoclaw/sb-1', controllers: ['memory', 'pids'] },
    uid: 1000,
    gid: 1000,
  },
  pid: 4242,
  skipped: ['/lib64'],
});

describe('parseHelperEvent', () => {
  it('parses ready into a typed enforcement report, defaulting degraded', () => {
    const r = parseHelperEvent(READY_LINE);
    expect(r.ok).toBe(true);
    if (!r.ok || r.event.type !== 'ready') throw new Error('not ready');
    expect(r.event.enforcement.landlock.abi).toBe(7);
    expect(r.event.enforcement.seccomp.filters).toBe(2);
    expect(r.event.enforcement.cgroup?.controllers).toEqual(['memory', 'pids']);
    expect(r.event.skipped).toEqual(['/lib64']);
    expect(r.event.degraded).toEqual([]);
  });

  it('accepts numeric capability sets and a null cgroup', () => {
    const obj = JSON.parse(READY_LINE);
    obj.enforcement.cap_eff = 0;
    obj.enforcement.cgroup = null;
    const r = parseHelperEvent(JSON.stringify(obj));
    if (!r.ok || r.event.type !== 'ready') throw new Error('not ready');
    expect(r.event.enforcement.cap_eff).toBe('0');
    expect(r.event.enforcement.cgroup).toBeNull();
  });

  it('rejects a ready whose enforcement fields are missing or mistyped', () => {
    const obj = JSON.parse(READY_LINE);
    obj.enforcement.no_new_privs = 'yes';
    expect(parseHelperEvent(JSON.stringify(obj))).toEqual({ ok: false, error: 'ready.enforcement.no_new_privs: expected boolean' });
    delete obj.enforcement;
    expect(parseHelperEvent(JSON.stringify(obj)).ok).toBe(false);
  });

  it.each([
    ['syscall_denied', { pid: 9, syscall: 'ptrace', nr: 101, exe: '/usr/bin/gdb', action: 'errno' }],
    ['syscall_logged', { pid: 9, syscall: 'connect', nr: 42 }],
    ['exec_ask', { id: 1, pid: 9, path: '/opt/x' }],
    ['exec_denied', { pid: 9, path: '/opt/x', reason: 'not_allowed' }],
    ['exec_allowed', { pid: 9, path: '/usr/bin/ls', via: 'allowlist' }],
    ['limit_hit', { limit: 'memory', detail: 'memory.max 1048576' }],
    ['egress_connection', { pid: 9, exe: null, sha256: null, port: 3128 }],
    ['egress_refused', { pid: 9, reason: 'no proxy configured' }],
    ['egress_direct', { pid: 9, exe: '/usr/bin/bash', addr: '1.1.1.1', port: 80 }],
    ['exit', { code: 127, signal: null, reason: 'exited', exec_errno: 2 }],
    ['syscall_denied', { pid: 9, syscall: 'ptrace', nr: 101, action: 'errno', suppressed_before: 17 }],
    ['error', { step: 'pivot_root', errno: 1, message: 'Operation not permitted' }],
    ['exit', { code: 0, signal: null, reason: 'exited' }],
    ['exit', { code: null, signal: 'SIGKILL', reason: 'memory' }],
  ])('parses %s', (type, fields) => {
    const r = parseHelperEvent(JSON.stringify({ type, ...fields }));
    expect(r).toEqual({ ok: true, event: { type, ...fields } });
  });

  it.each([
    ['not JSON', 'nope'],
    ['not an object', '[1]'],
    ['no type', '{"pid":1}'],
    ['exit.code: expected number|null', '{"type":"exit","code":"0","signal":null,"reason":"exited"}'],
    ['exec_ask.id: expected number', '{"type":"exec_ask","pid":1,"path":"/x"}'],
  ])('reports %s', (error, line) => {
    expect(parseHelperEvent(line)).toEqual({ ok: false, error });
  });

  it('keeps unknown event types (the protocol only grows)', () => {
    expect(parseHelperEvent('{"type":"future_thing","x":1}')).toEqual({
      ok: true,
      event: { type: 'unknown', originalType: 'future_thing', fields: { x: 1 } },
    });
  });

  it('does not let "__proto__" or inherited names pass as a type', () => {
    const r = parseHelperEvent('{"type":"toString"}');
    expect(r.ok && r.event.type).toBe('unknown');
  });
});

describe('LineSplitter', () => {
  it('joins chunks and splits lines, ignoring blank ones', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('{"a":');
    s.push('1}\n\n{"b"');
    s.push(':2}\n{"c":3}');
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('drops an oversized line and resynchronises on the next newline', () => {
    const lines: string[] = [];
    let overflows = 0;
    const s = new LineSplitter((l) => lines.push(l), { maxLine: 8, onOverflow: () => overflows++ });
    s.push('0123456789');
    s.push('abcdef\nok\n');
    s.push('0123456789012\nfine\n');
    expect(lines).toEqual(['ok', 'fine']);
    expect(overflows).toBe(2);
  });
});
