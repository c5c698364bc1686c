// Reversible redaction for `cloud-with-redaction` (docs/inference.md, "Privacy modes"). Pure
// functions: a scan replaces each sensitive value with a placeholder ([[SECRET_1]], [[CARD_2]], ...)
// and records the mapping in a per-request context that lives only in memory; restore() puts the
// values back into the answer. Order matters (docs/design.md, "Planned": exact known secrets
// first, because detection recall is best effort and exact matching is not): known host secrets,
// then provider key shapes, then keyword+entropy, then PII with checksums.

export type RedactionKind = 'SECRET' | 'CARD' | 'IBAN' | 'EMAIL' | 'PHONE';

export interface Redaction {
  kind: RedactionKind;
  /** Which detector matched: known, shape:<name>, entropy, luhn, iban, email, phone. */
  detector: string;
  placeholder: string;
}

export interface RedactionContext {
  /** Exact values that must never leave (stored provider keys, operator-marked host secrets). */
  readonly known: readonly string[];
  /** value -> placeholder: the same value always gets the same placeholder within one request. */
  readonly byValue: Map<string, string>;
  /** placeholder -> value, for restore(). */
  readonly byPlaceholder: Map<string, string>;
  readonly found: Array<Redaction & { value: string }>;
  next: number;
}

export function redactionContext(known: readonly string[] = []): RedactionContext {
  // Longest first, so a key that contains another known value is replaced whole; values under 8
  // characters would redact ordinary words.
  const k = [...new Set(known.filter((v) => v.length >= 8))].sort((a, b) => b.length - a.length);
  return { known: k, byValue: new Map(), byPlaceholder: new Map(), found: [], next: 1 };
}

function placeholderFor(ctx: RedactionContext, value: string, kind: RedactionKind, detector: string): string {
  const had = ctx.byValue.get(value);
  if (had !== undefined) return had;
  const p = `[[${kind}_${ctx.next++}]]`;
  ctx.byValue.set(value, p);
  ctx.byPlaceholder.set(p, value);
  ctx.found.push({ kind, detector, placeholder: p, value });
  return p;
}

/** Provider key shapes (prefix-anchored, so precision is high). */
const SHAPES: ReadonlyArray<[string, RegExp]> = [
  ['nvapi', /\bnvapi-[A-Za-z0-9_-]{20,}/g],
  ['anthropic', /\bsk-ant-[A-Za-z0-9_-]{20,}/g],
  ['openai', /\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}/g],
  ['github', /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})/g],
  ['aws', /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g],
  ['slack', /\bxox[abposr]-[A-Za-z0-9-]{10,}/g],
  ['huggingface', /\bhf_[A-Za-z0-9]{30,}/g],
  ['jwt', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g],
];

const PEM_HEAD = /^-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/;
const PEM_MAX = 64 * 1024;

/** Replaces each `-----BEGIN ... PRIVATE KEY-----` ... `-----END ... PRIVATE KEY-----` block. Linear. */
function redactPem(text: string, ctx: RedactionContext): string {
  let out = '';
  let from = 0;
  let endAt = -2; // the next "-----END " at or after the current block's head (-2: not looked up yet)
  for (let i = text.indexOf('-----BEGIN ', from); i !== -1; i = text.indexOf('-----BEGIN ', from)) {
    const head = PEM_HEAD.exec(text.slice(i, i + 80));
    if (!head) {
      out += text.slice(from, i + 11);
      from = i + 11;
      continue;
    }
    // Looked up again only once passed, so the whole scan stays linear.
    if (endAt !== -1 && endAt < i + head[0].length) endAt = text.indexOf('-----END ', i + head[0].length);
    if (endAt === -1) break; // no END anywhere after: nothing more can close
    const close = endAt === -1 || endAt - i > PEM_MAX ? -1 : text.indexOf('PRIVATE KEY-----', endAt);
    if (close === -1 || close - endAt > 60) {
      out += text.slice(from, i + head[0].length);
      from = i + head[0].length;
      continue;
    }
    const stop = close + 'PRIVATE KEY-----'.length;
    out += text.slice(from, i) + placeholderFor(ctx, text.slice(i, stop), 'SECRET', 'shape:pem');
    from = stop;
  }
  return out + text.slice(from);
}

/** keyword [:=] value, gitleaks-style; the value is redacted when its entropy says "random". */
const KEYWORD = /\b(?:[A-Za-z0-9]*[_-])?(?:api[_-]?key|apikey|secret|token|passw(?:or)?d|pwd|auth|credential|access[_-]?key)[A-Za-z0-9_-]*["']?\s*[:=]\s*["']?([A-Za-z0-9_\-+/=.~]{12,200})/gi;

export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

export function ibanValid(raw: string): boolean {
  const s = raw.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

const CARD = /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;
const EMAIL_RE = /^[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}$/;

/**
 * E-mail addresses, found from each '@' outwards (a regex tried at every position costs 64 steps
 * a character on text without any address). Linear in the text.
 */
function redactEmails(text: string, ctx: RedactionContext): string {
  if (!text.includes('@')) return text;
  let out = '';
  let from = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    if (at < from) continue;
    let a = at;
    while (a > from && at - a < 64 && LOCAL_CHAR.test(text[a - 1] as string)) a--;
    let b = at + 1;
    while (b < text.length && b - at <= 254 && DOMAIN_CHAR.test(text[b] as string)) b++;
    while (b > at + 1 && (text[b - 1] === '.' || text[b - 1] === '-')) b--; // a sentence's full stop
    const cand = text.slice(a, b);
    if (a === at || !EMAIL_RE.test(cand)) continue;
    out += text.slice(from, a) + placeholderFor(ctx, cand, 'EMAIL', 'email');
    from = b;
  }
  return out + text.slice(from);
}
const PHONE = /(?<![\w+])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?![\w])/g;

/** Replaces every sensitive value in one string. Throws only on a bug: callers fail closed. */
export function redactText(text: string, ctx: RedactionContext): string {
  let out = text;
  // 1. Exact known secrets: plain, and as they appear base64- or URL-encoded.
  for (const v of ctx.known) {
    for (const form of [v, Buffer.from(v).toString('base64'), encodeURIComponent(v)]) {
      if (out.includes(form)) out = out.split(form).join(placeholderFor(ctx, form, 'SECRET', 'known'));
    }
  }
  // 2. Provider key shapes; PEM blocks first, by a linear scan (a lazy regex from each BEGIN to
  // a missing END is quadratic, and an agent controls the text).
  out = redactPem(out, ctx);
  for (const [name, re] of SHAPES) out = out.replace(re, (m) => placeholderFor(ctx, m, 'SECRET', `shape:${name}`));
  // 3. keyword + entropy: only the value is replaced, the keyword stays for the model's context.
  out = out.replace(KEYWORD, (m, value: string) => {
    if (value.startsWith('[[') || shannonEntropy(value) < 3.5 || !/\d/.test(value)) return m;
    return m.slice(0, m.length - value.length) + placeholderFor(ctx, value, 'SECRET', 'entropy');
  });
  // 4. PII with validators, so an ordinary long number is not mangled.
  out = out.replace(CARD, (m) => {
    const d = m.replace(/[ -]/g, '');
    return d.length >= 13 && d.length <= 19 && luhnValid(d) ? placeholderFor(ctx, m, 'CARD', 'luhn') : m;
  });
  out = out.replace(IBAN, (m) => (ibanValid(m) ? placeholderFor(ctx, m, 'IBAN', 'iban') : m));
  out = redactEmails(out, ctx);
  out = out.replace(PHONE, (m) => {
    const digits = m.replace(/\D/g, '').length;
    return digits >= 10 && digits <= 15 ? placeholderFor(ctx, m, 'PHONE', 'phone') : m;
  });
  return out;
}

/**
 * Where a request carries content the scanner cannot read (an image or audio, inline or by URL):
 * the JSON path of the first such part, or null. Such a request never goes to the cloud under
 * redaction: it could hold a photo of a key or a recorded card number.
 */
export function unscannablePart(value: unknown, path = '$', depth = 0): string | null {
  if (depth > 64 || value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = unscannablePart(value[i], `${path}[${i}]`, depth + 1);
      if (hit !== null) return hit;
    }
    return null;
  }
  const o = value as Record<string, unknown>;
  const type = typeof o.type === 'string' ? o.type : '';
  if (/^(?:image_url|input_image|image|input_audio|audio|input_file|file|document)$/.test(type)) return path;
  for (const k of ['image_url', 'input_audio', 'image', 'audio', 'file']) if (o[k] !== undefined && o[k] !== null && typeof o[k] === 'object') return `${path}.${k}`;
  for (const [k, v] of Object.entries(o)) {
    const hit = unscannablePart(v, `${path}.${k}`, depth + 1);
    if (hit !== null) return hit;
  }
  return null;
}

/** Keys whose string values are routing, not content: never rewritten. */
const NOT_CONTENT = new Set(['model', 'role', 'type', 'id', 'tool_call_id', 'name', 'object', 'finish_reason', 'encoding_format']);

/**
 * Redacts every string value of a request body (every message role, tool-call arguments, tool
 * results, tools' descriptions, prompt/input/instructions), in place order, returning a new value.
 * Walking everything rather than a list of known fields means a field we did not foresee is
 * scanned too.
 */
export function redactJson(value: unknown, ctx: RedactionContext, key = '', depth = 0): unknown {
  if (depth > 64) throw new Error('request nested too deeply to scan');
  if (typeof value === 'string') return NOT_CONTENT.has(key) ? value : redactText(value, ctx);
  if (Array.isArray(value)) return value.map((v) => redactJson(v, ctx, key, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactJson(v, ctx, k, depth + 1);
    return out;
  }
  return value;
}

const PLACEHOLDER = /\[\[(?:SECRET|CARD|IBAN|EMAIL|PHONE)_\d{1,6}\]\]/g;
/** The longest placeholder restore() recognises: the streaming hold-back never exceeds it. */
export const MAX_PLACEHOLDER = '[[SECRET_999999]]'.length;

export function restoreText(text: string, ctx: RedactionContext): string {
  if (ctx.byPlaceholder.size === 0 || !text.includes('[[')) return text;
  return text.replace(PLACEHOLDER, (p) => ctx.byPlaceholder.get(p) ?? p);
}

export function restoreJson(value: unknown, ctx: RedactionContext): unknown {
  if (typeof value === 'string') return restoreText(value, ctx);
  if (Array.isArray(value)) return value.map((v) => restoreJson(v, ctx));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = restoreJson(v, ctx);
    return out;
  }
  return value;
}

/**
 * Restores placeholders in a stream of text pieces. A piece that ends in something that could
 * still become a placeholder ("[", "[[SEC", "[[SECRET_1]") is held back until the next piece
 * decides it, so a placeholder split across SSE chunks is restored too; flush() at the end.
 */
export class StreamRestorer {
  private tail = '';
  private readonly ctx: RedactionContext;
  constructor(ctx: RedactionContext) {
    this.ctx = ctx;
  }

  push(piece: string): string {
    const text = this.tail + piece;
    this.tail = '';
    const cut = holdFrom(text);
    const ready = text.slice(0, cut);
    this.tail = text.slice(cut);
    return restoreText(ready, this.ctx);
  }

  flush(): string {
    const t = this.tail;
    this.tail = '';
    return restoreText(t, this.ctx);
  }

  get pending(): boolean {
    return this.tail.length > 0;
  }
}

const PARTIAL = /^\[(?:\[(?:[A-Z]{1,6}(?:_\d{0,6}(?:\])?)?)?)?$/;

/** Index from which the end of `text` could still be the start of a placeholder. */
function holdFrom(text: string): number {
  const from = Math.max(0, text.length - MAX_PLACEHOLDER);
  for (let i = text.indexOf('[', from); i !== -1; i = text.indexOf('[', i + 1)) {
    const rest = text.slice(i);
    if (PARTIAL.test(rest) && 'SECRET CARD IBAN EMAIL PHONE'.split(' ').some((k) => couldBe(rest, k))) return i;
  }
  return text.length;
}

function couldBe(rest: string, kind: string): boolean {
  const name = rest.slice(2).split('_')[0] ?? '';
  return rest.length <= 2 || (kind.startsWith(name) && (name.length < kind.length ? !rest.slice(2).includes('_') : true));
}
