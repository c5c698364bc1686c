// Globs used by policies (binary paths, exec allowlists, REST paths and query values), compiled to
// anchored regular expressions once at compile time so that decisions are a regex test.
//   `*`  any run of characters except `/`
//   `**` any run of characters including `/` (as a whole segment, `/**/` also matches `/`)
//   `?`  one character except `/`
//   `[..]` a character class (`[!..]` negated); `\x` escapes x

export function globSyntaxError(glob: string): string | null {
  let inClass = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      if (i === glob.length - 1) return 'glob ends with a lone backslash';
      i++;
    } else if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
  }
  if (inClass) return 'unclosed `[` in glob';
  if (/\*{3,}/.test(glob)) return '`***` is not a glob; use `*` or `**`';
  return null;
}

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/' && (i === 1 || glob[i - 2] === '/')) {
          // `/**/x` also matches `/x`.
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const neg = body.startsWith('!') || body.startsWith('^');
      if (neg) body = body.slice(1);
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      i++;
      re += (glob[i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const out = new RegExp(`${re}$`, 's');
  if (cache.size < 10_000) cache.set(glob, out);
  return out;
}

export function globMatch(glob: string, text: string): boolean {
  return globToRegExp(glob).test(text);
}

export function hasGlobChars(text: string): boolean {
  return /[*?[\\]/.test(text);
}

/** A glob that matches `text` and nothing else (each glob character escaped with `\`). */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
