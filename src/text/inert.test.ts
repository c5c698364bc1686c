import { describe, expect, it } from 'vitest';
import { inert, inertJson } from './index.ts';

/** Everything a terminal or the bidi algorithm acts on; none may survive inert(). */
const ACTIVE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]|\p{Cs}/u;

describe('inert', () => {
  it('shows ESC, BEL and the other C0 controls as escapes, leaving the words readable', () => {
    expect(inert('\u001b]52;c;cHduZWQ=\u0007\u001b]2;PWNED\u0007\u001b[2J\u001b[H')).toBe('\\x1b]52;c;cHduZWQ=\\x07\\x1b]2;PWNED\\x07\\x1b[2J\\x1b[H');
    expect(inert('a\u0000b\u0008c\u007fd')).toBe('a\\x00b\\x08c\\x7fd');
  });

  it('shows C1 controls (8-bit CSI, OSC, NEL) and bidi controls', () => {
    expect(inert('\u009b?1049h \u009d0;t\u009c \u0085')).toBe('\\u009b?1049h \\u009d0;t\\u009c \\u0085');
    expect(inert('invoice\u202egpj.exe')).toBe('invoice\\u202egpj.exe');
    for (const cp of [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029]) {
      expect(inert(`x${String.fromCodePoint(cp)}y`)).toBe(`x\\u${cp.toString(16).padStart(4, '0')}y`);
    }
  });

  it('newlines, tabs and CR: escaped on one line; kept for multi-line text; CRLF is a line ending', () => {
    expect(inert('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(inert('a\nb\tc\r\nd\re', { newlines: true, tabs: 'keep' })).toBe('a\nb\tc\nd\\re');
    expect(inert('a\tb', { tabs: 'space' })).toBe('a b');
  });

  it('lone surrogates (a string cut inside a pair) are shown; pairs and other text are untouched', () => {
    expect(inert('a\ud83d')).toBe('a\\ud83d');
    expect(inert('\ude00b')).toBe('\\ude00b');
    const fine = 'héllo 日本語 😀 👨‍👩‍👧 e\u0301 \\x1b';
    expect(inert(fine)).toBe(fine);
  });

  it('bytes: valid UTF-8 decoded, each invalid byte shown as \\xNN', () => {
    expect(inert(Buffer.from('ok é 😀\u001b[2J', 'utf8'))).toBe('ok é 😀\\x1b[2J');
    // lone continuation, truncated sequence, overlong '/', encoded surrogate, past U+10FFFF, 0xff
    const bad = Buffer.from([0x61, 0x80, 0x62, 0xe2, 0x82, 0x63, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xff]);
    expect(inert(bad)).toBe('a\\x80b\\xe2\\x82c\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xff');
    // a C1 control that is valid UTF-8 is a character, shown as one
    expect(inert(Buffer.from([0xc2, 0x9b, 0x32, 0x4a]))).toBe('\\u009b2J');
  });

  it('leaves nothing active, whatever the input, and is idempotent', () => {
    let seed = 18;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let n = 0; n < 2000; n++) {
      let s = '';
      for (let i = 0; i < 16; i++) s += String.fromCharCode(rand() % 4 === 0 ? rand() % 0x10000 : rand() % 0xa0);
      const out = inert(s);
      expect(ACTIVE.test(out), JSON.stringify(s)).toBe(false);
      expect(inert(out)).toBe(out);
      const bytes = Uint8Array.from({ length: 16 }, () => rand() % 256);
      expect(ACTIVE.test(inert(bytes)), String(bytes)).toBe(false);
    }
  });
});

describe('inertJson', () => {
  it('writes C1, DEL and bidi controls as \\u escapes: the same value for a parser, nothing active for a terminal', () => {
    const value = { line: 'a\u009b2J\u007f\u202eb\u2028\u001b]0;t\u0007', pair: '😀' };
    const text = inertJson(JSON.stringify(value));
    expect(ACTIVE.test(text)).toBe(false);
    expect(JSON.parse(text)).toEqual(value);
  });
});
