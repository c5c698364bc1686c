// Providers and their keys, kept outside every sandbox (docs/design.md, invariant 6): metadata in
// NEMOCLAW_HOME/inference/providers/<name>.json, the key alone in keys/providers/<name>.key, both
// 0600 in 0700 directories, written durably through src/state. A key is read only by the router
// when it injects it; list() shows a fingerprint, never the key.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDirs, homePaths, writeFileAtomic, writeJsonAtomic } from '../state/index.ts';

export const PROVIDER_TYPES = ['nvidia', 'openai', 'openai-compatible', 'anthropic', 'nim', 'vllm'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];
export type Location = 'local' | 'cloud';

export interface Provider {
  name: string;
  type: ProviderType;
  /** Base URL including the API version prefix, e.g. https://integrate.api.nvidia.com/v1. */
  url: string;
  location: Location;
  /** Whether --location set it (otherwise derived from type and URL). */
  locationSet: boolean;
  /** Extra headers sent upstream on every request (--header K=V). */
  headers: Record<string, string>;
  /** sha256:<12 hex> of the key, or null without one. */
  fingerprint: string | null;
  createdAt: string;
}

export class ProviderError extends Error {}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isProviderType(t: string): t is ProviderType {
  return (PROVIDER_TYPES as readonly string[]).includes(t);
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * nim and vllm, and anything on a loopback URL, default to local; the hosted types and other URLs
 * to cloud. --location overrides both ways (a loopback relay to a cloud service is cloud).
 */
export function defaultLocation(type: ProviderType, url: string): Location {
  if (type === 'nim' || type === 'vllm') return 'local';
  try {
    return isLoopbackHost(new URL(url).hostname) ? 'local' : 'cloud';
  } catch {
    return 'cloud';
  }
}

export function keyFingerprint(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

export interface AddProvider {
  name: string;
  type: string;
  url: string;
  location?: string;
  headers?: Record<string, string>;
  key?: string | null;
}

const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;
/** Headers a provider may not set: the key goes only where the router puts it. */
const RESERVED_HEADERS = new Set(['authorization', 'x-api-key', 'host', 'content-length', 'transfer-encoding', 'connection', 'cookie']);

export class ProviderStore {
  readonly dir: string;
  readonly keyDir: string;
  constructor(home: string) {
    const p = homePaths(home);
    this.dir = join(home, 'inference', 'providers');
    this.keyDir = join(p.keys, 'providers');
  }

  private file(name: string): string {
    if (!NAME.test(name)) throw new ProviderError(`provider name ${JSON.stringify(name)}: lowercase letters, digits, '.', '_' and '-', up to 63, starting with a letter or digit`);
    return join(this.dir, `${name}.json`);
  }

  private keyFile(name: string): string {
    this.file(name);
    return join(this.keyDir, `${name}.key`);
  }

  add(input: AddProvider): Provider {
    const path = this.file(input.name);
    if (!isProviderType(input.type)) throw new ProviderError(`--type ${JSON.stringify(input.type)}: one of ${PROVIDER_TYPES.join(', ')}`);
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw new ProviderError(`--url ${JSON.stringify(input.url)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProviderError('--url must be http:// or https://');
    if (url.username !== '' || url.password !== '') throw new ProviderError('--url must not carry credentials; use --credential-env or --credential-stdin');
    if (input.location !== undefined && input.location !== 'local' && input.location !== 'cloud') throw new ProviderError('--location: local or cloud');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.headers ?? {})) {
      if (!HEADER_NAME.test(k) || RESERVED_HEADERS.has(k.toLowerCase())) throw new ProviderError(`--header ${k}: not a header a provider may set`);
      if (/[\r\n\0]/.test(v)) throw new ProviderError(`--header ${k}: value has a line break`);
      headers[k.toLowerCase()] = v;
    }
    if (existsSync(path)) throw new ProviderError(`provider ${input.name} exists; remove it first`);
    const key = input.key ?? null;
    if (key !== null && (key.length === 0 || /[\r\n\0]/.test(key))) throw new ProviderError('the credential is empty or has a line break');
    const p: Provider = {
      name: input.name,
      type: input.type,
      url: url.toString().replace(/\/+$/, ''),
      location: (input.location as Location | undefined) ?? defaultLocation(input.type, url.toString()),
      locationSet: input.location !== undefined,
      headers,
      fingerprint: key !== null ? keyFingerprint(key) : null,
      createdAt: new Date().toISOString(),
    };
    ensurePrivateDirs(join(this.dir, '..'), this.dir, this.keyDir);
    // The key first: a provider record never names a key that is not there.
    if (key !== null) writeFileAtomic(this.keyFile(p.name), key, 0o600);
    writeJsonAtomic(path, p, 0o600);
    return p;
  }

  get(name: string): Provider | null {
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8')) as Provider;
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      return null;
    }
  }

  /** The stored key; only the router calls this, on its way out. */
  key(name: string): string | null {
    try {
      return readFileSync(this.keyFile(name), 'utf8');
    } catch {
      return null;
    }
  }

  /** Every stored key: the exact values redaction looks for first. */
  allKeys(): string[] {
    const out: string[] = [];
    for (const p of this.list()) {
      const k = this.key(p.name);
      if (k !== null) out.push(k);
    }
    return out;
  }

  list(): Provider[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    const out: Provider[] = [];
    for (const f of names.sort()) {
      const p = this.get(f.slice(0, -5));
      if (p) out.push(p);
    }
    return out;
  }

  remove(name: string): boolean {
    const path = this.file(name);
    const had = existsSync(path);
    rmSync(path, { force: true });
    rmSync(this.keyFile(name), { force: true });
    return had;
  }
}
