// Text that a workload controls, made inert for a terminal (docs/design.md, component map:
// `src/text/`). A sandbox's output, an exec path, a host name or a log line is untrusted, and the
// operator's terminal is outside the sandbox: written as is, ESC/CSI/OSC sequences retitle the
// window, write the clipboard (OSC 52), clear the screen, switch modes, and bidi overrides reorder
// what the operator reads. Every place that shows such text to a person (the TUI's panes, the CLI's prompts and
// verbs) goes through inert(), so there is one definition of "safe to show".
//
// What is escaped, and how it is shown (printable ASCII, so the result is always safe and
// inert(inert(x)) === inert(x)):
//   C0 controls and DEL      \x1b \x07 \x7f ... (\t \n \r for those three)
//   C1 controls U+0080-009F  \u009b ...  (xterm and others act on a UTF-8 encoded U+009B as CSI)
//   bidi controls            \u202e \u2066 \u200f \u061c ... (Unicode Bidi_Control)
//   line/paragraph sep.      \u2028 \u2029
//   lone surrogates          \ud800 ...  (a string cut inside a pair: not text, not encodable)
//   invalid UTF-8 bytes      \xff ...    (only for byte input; a string has no bytes left)
// Backslashes are left alone: the rendering is for reading, not a reversible encoding. Whoever
// needs the exact bytes asks for them (`logs --raw`, output to a pipe, `--json`).

export interface InertOptions {
  /** Keep line feeds (and CRLF as a plain LF) for multi-line text such as logs. Default: shown as `\n`, one line stays one line. */
  newlines?: boolean;
  /** `keep` (logs: columns line up), `space` (one cell: the TUI's fixed-width panes), or shown as `\t` (default). */
  tabs?: 'keep' | 'space' | 'escape';
}

// Cc covers C0, DEL and C1. With the u flag, \p{Cs} only matches a surrogate that is not half of a pair.
const UNSAFE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]|\p{Cs}/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');
const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function shown(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return NAMED[ch] ?? (cp < 0x80 ? `\\x${hex(cp, 2)}` : `\\u${hex(cp, 4)}`);
}

/**
 * Bytes as text: valid UTF-8 decoded, every byte that is not part of a valid sequence (overlong
 * forms, encoded surrogates, past U+10FFFF, cut sequences) shown as `\xNN` rather than U+FFFD, so
 * the operator sees what was there.
 */
function decodeShowingInvalid(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // fall through: decode by hand, byte by byte where it is not UTF-8
  }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i += 1;
      continue;
    }
    const [need, min, lead] = b >= 0xc2 && b <= 0xdf ? [1, 0x80, b & 0x1f] : b >= 0xe0 && b <= 0xef ? [2, 0x800, b & 0x0f] : b >= 0xf0 && b <= 0xf4 ? [3, 0x10000, b & 0x07] : [0, 0, 0];
    let cp = lead;
    let j = 1;
    for (; need > 0 && j <= need; j++) {
      const c = bytes[i + j];
      if (c === undefined || (c & 0xc0) !== 0x80) break;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (need === 0 || j <= need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += `\\x${hex(b, 2)}`;
      i += 1;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** `text` with every character that a terminal would act on (or that reorders the line) shown as a visible escape. */
export function inert(text: string | Uint8Array, opts: InertOptions = {}): string {
  const s = typeof text === 'string' ? text : decodeShowingInvalid(text);
  if (!UNSAFE.test(s)) return s; // the common case: nothing to do, no copy
  const tabs = opts.tabs ?? 'escape';
  return s.replace(UNSAFE_ALL, (ch: string, at: number) => {
    if (ch === '\n' && opts.newlines === true) return ch;
    // CRLF is a line ending, not a carriage return that could overwrite what the line showed.
    if (ch === '\r' && opts.newlines === true && s[at + 1] === '\n') return '';
    if (ch === '\t' && tabs !== 'escape') return tabs === 'keep' ? ch : ' ';
    return shown(ch);
  });
}

// In JSON text (as JSON.stringify writes it) these can only appear inside strings, where \uXXXX
// means the same character. JSON.stringify already escapes C0 and lone surrogates.
const JSON_UNSAFE = /[\u007f-\u009f\p{Bidi_Control}\u2028\u2029]/gu;

/**
 * JSON text with the characters JSON.stringify leaves raw but a terminal acts on (DEL, C1, bidi
 * controls, U+2028/9) written as \uXXXX: the same JSON value for a parser, inert on a terminal.
 */
export function inertJson(json: string): string {
  return json.replace(JSON_UNSAFE, (ch) => `\\u${hex(ch.codePointAt(0) ?? 0, 4)}`);
}
