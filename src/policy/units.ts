// Sizes (`2GiB`, `512MB`, `4096`) and durations (`60s`, `5m`, `1h30m`, `250ms`, `0`) as written in
// policies and blueprints. Both parsers return null for anything they do not fully understand.

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] as string).toLowerCase()];
  if (unit === undefined) return null;
  const n = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: string | number): number | null {
  // A bare number is seconds (what people mean by `timeout: 60`).
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  const text = value.trim();
  if (/^[0-9]+(?:\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos !== text.length || text === '') return null;
  const n = Math.round(total);
  return Number.isSafeInteger(n) ? n : null;
}

/** CIDR or single address, IPv4 or IPv6; returns an error string or null. */
export function cidrError(text: string): string | null {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) return `not a CIDR: ${JSON.stringify(text)}`;
  const v4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/.test(addr);
  const v6 = !v4 && /^[0-9a-fA-F:.]+$/.test(addr) && addr.includes(':');
  if (!v4 && !v6) return `not an IP address: ${JSON.stringify(addr)}`;
  if (bits !== undefined) {
    if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > (v4 ? 32 : 128)) return `bad prefix length /${bits}`;
  }
  return null;
}
