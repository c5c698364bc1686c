import { describe, expect, it } from 'vitest';
import { StreamRestorer, ibanValid, luhnValid, redactJson, redactText, redactionContext, restoreText, unscannablePart } from './redact.ts';
import { SseRestorer } from './sse.ts';

const NVAPI = `nvapi-${'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z'.repeat(2)}`;
const STORED = 'stored-provider-key-7f3a9c2e1b';

describe('redactText: each detector, in order', () => {
  const cases: Array<[string, string, string | null]> = [
    // [name, input, detector expected (null: nothing redacted)]
    ['stored key (exact)', `use ${STORED} please`, 'known'],
    ['stored key base64', `b64 ${Buffer.from(STORED).toString('base64')}`, 'known'],
    ['nvapi shape', `key=${NVAPI}`, 'shape:nvapi'],
    ['openai shape', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345', 'shape:openai'],
    ['anthropic shape', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz', 'shape:anthropic'],
    ['github shape', `ghp_${'a1B2c3D4e5'.repeat(4)}`, 'shape:github'],
    ['aws shape', 'AKIAIOSFODNN7EXAMPLE', 'shape:aws'],
    ['slack shape', 'xoxb-1234567890-abcdefghij', 'shape:slack'],
    ['pem', '-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----', 'shape:pem'],
    ['keyword+entropy', 'db_password = "Xk9#q2Lm7vR4pT8w"'.replace('#', 'Z'), 'entropy'],
    ['card (Luhn ok)', 'card 4111 1111 1111 1111 exp 12/29', 'luhn'],
    ['card (Luhn fails)', 'order 4111 1111 1111 1112', null],
    ['IBAN ok', 'iban DE89370400440532013000', 'iban'],
    ['IBAN bad checksum', 'iban DE89370400440532013001', null],
    ['email', 'write to jane.doe@example.com today', 'email'],
    ['phone', 'call +1 415 555 2671', 'phone'],
    ['plain prose', 'the build took 12 seconds on 2 cores', null],
    ['low-entropy keyword', 'password = aaaaaaaaaaaaaaaa', null],
  ];
  for (const [name, input, detector] of cases) {
    it(name, () => {
      const ctx = redactionContext([STORED]);
      const out = redactText(input, ctx);
      if (detector === null) {
        expect(out).toBe(input);
        expect(ctx.found).toEqual([]);
      } else {
        expect(ctx.found.map((f) => f.detector)).toContain(detector);
        for (const f of ctx.found) expect(out).not.toContain(f.value);
        expect(restoreText(out, ctx)).toBe(input);
      }
    });
  }

  it('same value, same placeholder; numbering per request', () => {
    const ctx = redactionContext();
    expect(redactText('a@b.io and a@b.io and c@d.io', ctx)).toBe('[[EMAIL_1]] and [[EMAIL_1]] and [[EMAIL_2]]');
  });

  it('checksums', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
  });
});

describe('redactJson', () => {
  it('scans every role, tool-call arguments and tool results, never model or role', () => {
    const ctx = redactionContext();
    const body = {
      model: 'sk-not-a-key-but-the-model-name-123456',
      messages: [
        { role: 'system', content: 'you help' },
        { role: 'user', content: [{ type: 'text', text: `my key ${NVAPI}` }] },
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pay', arguments: '{"card":"4111111111111111"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'receipt sent to jane@example.com' },
      ],
    };
    const out = JSON.stringify(redactJson(body, ctx));
    expect(out).toContain('"model":"sk-not-a-key-but-the-model-name-123456"');
    expect(out).not.toContain(NVAPI);
    expect(out).not.toContain('4111111111111111');
    expect(out).not.toContain('jane@example.com');
    expect(ctx.found.map((f) => f.kind).sort()).toEqual(['CARD', 'EMAIL', 'SECRET']);
  });

  it('scans a 32 KiB prompt', () => {
    const ctx = redactionContext([STORED]);
    const prompt = `${'lorem ipsum dolor sit amet 42, '.repeat(1050)} ${NVAPI}`;
    const out = redactText(prompt, ctx);
    expect(out.endsWith('[[SECRET_1]]')).toBe(true);
  });
});

describe('unscannablePart', () => {
  const cases: Array<[string, unknown, string | null]> = [
    ['text only', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, null],
    ['chat image', { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }, '$.messages[0].content[1]'],
    ['chat audio', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }, '$.messages[0].content[0]'],
    ['responses image', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x.test/a.png' }] }] }, '$.input[0].content[0]'],
    ['anthropic image', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'AAAA' } }] }] }, '$.messages[0].content[0]'],
    ['a field merely named image', { metadata: { image: 'just a string' } }, null],
  ];
  for (const [name, body, want] of cases) it(name, () => expect(unscannablePart(body)).toBe(want));
});

describe('StreamRestorer: placeholders split anywhere', () => {
  const ctx = redactionContext();
  redactText('k=sk-proj-abcdefghijklmnopqrstuvwxyz012345 and 4111111111111111', ctx);
  const answer = 'use [[SECRET_1]] with [[CARD_2]]; [not a placeholder] [[SECRET_9]] end [';
  const expected = answer.replace('[[SECRET_1]]', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345').replace('[[CARD_2]]', '4111111111111111');
  for (let cut = 1; cut < answer.length; cut++) {
    it(`two pieces at ${cut}`, () => {
      const r = new StreamRestorer(ctx);
      const got = r.push(answer.slice(0, cut)) + r.push(answer.slice(cut)) + r.flush();
      expect(got).toBe(expected);
    });
  }
  it('one character at a time', () => {
    const r = new StreamRestorer(ctx);
    let got = '';
    for (const c of answer) got += r.push(c);
    expect(got + r.flush()).toBe(expected);
  });
});

describe('SseRestorer', () => {
  const ctx = redactionContext();
  redactText('4111111111111111', ctx);
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  const chunk = (content: string, finish: string | null = null) => ev({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
  const text = (out: string) =>
    out
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta?: { content?: string; tool_calls?: Array<{ function: { arguments: string } }> } }> }).choices[0]?.delta)
      .map((d) => (d?.content ?? '') + (d?.tool_calls?.[0]?.function.arguments ?? ''))
      .join('');

  it('restores a placeholder split across events and across network chunks', () => {
    const r = new SseRestorer(ctx);
    const stream = chunk('card [[CA') + chunk('RD_1]] ok') + chunk('', 'stop') + 'data: [DONE]\n\n';
    let out = '';
    for (let i = 0; i < stream.length; i += 7) out += r.push(Buffer.from(stream.slice(i, i + 7)));
    out += r.end();
    expect(text(out)).toBe('card 4111111111111111 ok');
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('restores tool-call arguments and sends the held tail before the finish', () => {
    const r = new SseRestorer(ctx);
    const tc = (a: string) => ev({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] }, finish_reason: null }] });
    const out = r.push(Buffer.from(tc('{"n":"[[CARD_') + tc('1]]"}') + tc('[') + chunk('', 'tool_calls'))) + r.end();
    expect(text(out)).toBe('{"n":"4111111111111111"}[');
  });

  it('responses API text deltas, flushed before the done event', () => {
    const r = new SseRestorer(ctx);
    const d = (t: string) => `event: response.output_text.delta\n${ev({ type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta: t })}`;
    const out = r.push(Buffer.from(d('pay [[CA') + d('RD_1]] now [') + `event: response.output_text.done\n${ev({ type: 'response.output_text.done', item_id: 'm1', text: 'pay [[CARD_1]] now [' })}`)) + r.end();
    const events = out.split('\n\n').filter((e) => e.includes('data: '));
    const deltas = events.filter((e) => e.includes('.delta')).map((e) => (JSON.parse(e.split('data: ')[1] as string) as { delta: string }).delta);
    expect(deltas.join('')).toBe('pay 4111111111111111 now [');
    const done = JSON.parse((events.at(-1) as string).split('data: ')[1] as string) as { type: string; text: string };
    expect(done).toMatchObject({ type: 'response.output_text.done', text: 'pay 4111111111111111 now [' });
  });

  it('anthropic content_block_delta', () => {
    const r = new SseRestorer(ctx);
    const d = (t: string) => `event: content_block_delta\n${ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })}`;
    const out = r.push(Buffer.from(d('x [[CARD') + d('_1]] y [[') + `event: content_block_stop\n${ev({ type: 'content_block_stop', index: 0 })}`)) + r.end();
    const texts = out
      .split('\n\n')
      .filter((e) => e.includes('text_delta'))
      .map((e) => (JSON.parse(e.split('data: ')[1] as string) as { delta: { text: string } }).delta.text);
    expect(texts.join('')).toBe('x 4111111111111111 y [[');
  });
});
