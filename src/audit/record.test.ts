import { describe, expect, it } from 'vitest';
import { formatLine, normalizeEvent, parseHead, parseRecord, GENESIS_PREV } from './record.ts';
import { DenialAggregator } from './aggregate.ts';

describe('normalizeEvent', () => {
  it('builds an OCSF-shaped event', () => {
    const ev = normalizeEvent({
      kind: 'egress.denied',
      actor: { user: 'alice', pid: 12 },
      sandbox: 'sb1',
      binary: '/usr/bin/curl',
      target: 'evil.example:443',
      decision: 'deny',
      rule: 'default-deny',
      policy_revision: 'r3',
    });
    expect(ev).toMatchObject({ class_uid: 4001, class_name: 'Network Activity', category_uid: 4, activity: 'denied', severity_id: 3 });
    expect(normalizeEvent({ kind: 'approval.decision' }).class_uid).toBe(3003);
    expect(normalizeEvent({ kind: 'inference.decision' }).class_uid).toBe(6003);
  });

  it('refuses content and credentials, and raw values posing as fingerprints', () => {
    for (const key of ['prompt', 'completion', 'api_key', 'apiKey', 'authorization', 'token', 'access_token', 'password', 'placeholder', 'messages', 'private_key']) {
      expect(() => normalizeEvent({ kind: 'audit.note', detail: { [key]: 'x' } }), key).toThrow(TypeError);
    }
    expect(() => normalizeEvent({ kind: 'audit.note', detail: { input_tokens: 5, model: 'm' } })).not.toThrow();
    expect(() => normalizeEvent({ kind: 'audit.note', fingerprints: { key: 'nvapi-123' } })).toThrow(TypeError);
    expect(() => normalizeEvent({ kind: 'nope' as 'audit.note' })).toThrow(TypeError);
    expect(normalizeEvent({ kind: 'audit.note', decision: 'Allow Everything' }).decision).toBe('allow_everything');
    expect(normalizeEvent({ kind: 'audit.note', decision: '42' }).decision).toBe('other');
    expect(normalizeEvent({ kind: 'audit.note', detail: { n: Number.NaN } }).detail).toEqual({ n: null });
  });

  it('clips long strings', () => {
    expect(normalizeEvent({ kind: 'audit.note', target: 'x'.repeat(5000) }).target?.length).toBe(512);
  });
});

describe('line format', () => {
  it('parses its own head and round-trips', () => {
    const line = formatLine(42, '2026-11-22T02:00:00.000Z', GENESIS_PREV, normalizeEvent({ kind: 'audit.note', target: 'é "quoted"\n' }));
    const buf = Buffer.from(line);
    const head = parseHead(buf, 0, buf.length - 1);
    expect(head?.seq).toBe(42);
    expect(buf.toString('latin1', head!.prevAt, head!.prevAt + 64)).toBe(GENESIS_PREV);
    expect(parseRecord(line).event.target).toBe('é "quoted"\n');
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
  });

  it('rejects heads of another shape', () => {
    const b = Buffer.from(`{"seq":1,"v":1,"ts":"x","prev":"${GENESIS_PREV}","event":{"class_uid":1,"padding":"${'x'.repeat(80)}"}}`);
    expect(parseHead(b, 0, b.length)).toBeNull();
    const c = Buffer.from(`{"v":1,"seq":01,"ts":"x","prev":"${GENESIS_PREV}","event":{"padding":"${'x'.repeat(80)}"}}`);
    expect(parseHead(c, 0, c.length)).toBeNull();
  });
});

describe('DenialAggregator', () => {
  it('writes the first denial of a minute and counts the rest into one summary', () => {
    const agg = new DenialAggregator();
    const e = { kind: 'egress.denied' as const, sandbox: 's', target: 'h:1' };
    const t0 = 120_000;
    expect(agg.offer(e, t0).write).toBe(true);
    agg.opened(e, t0, Promise.resolve({ seq: 1 }));
    for (let i = 1; i < 10; i++) expect(agg.offer(e, t0 + i * 1000).write).toBe(false);
    expect(agg.offer({ ...e, target: 'h:2' }, t0).write).toBe(true);
    expect(agg.drain(t0 + 30_000)).toEqual([]);
    const out = agg.drain(t0 + 60_000);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'egress.denied', count: 9, detail: { window_total: 10, aggregated: true } });
    // A new minute writes again.
    expect(agg.offer(e, t0 + 61_000).write).toBe(true);
  });
});
