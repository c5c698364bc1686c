// Per-sandbox routes: which aliases a sandbox may ask for, the provider and real model behind each,
// the privacy mode, the stream idle timeout and budgets. One file per sandbox under
// NEMOCLAW_HOME/inference/routes/, numbered by revision; the router reads the current one on every
// request, so `inference set` applies to a running sandbox's next request without a restart.
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDirs, validName, writeJsonAtomic } from '../state/index.ts';

export const MODES = ['local-only', 'cloud-with-redaction', 'cloud-allowed'] as const;
export type Mode = (typeof MODES)[number];

export interface ModelRoute {
  /** What the sandbox writes in `model`. */
  alias: string;
  provider: string;
  /** What the provider is sent. */
  model: string;
}

export interface Budget {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export interface SandboxRoute {
  sandbox: string;
  rev: number;
  mode: Mode;
  models: ModelRoute[];
  /** Longest gap between upstream bytes before the answer is ended with an error (default 120 s). */
  idleTimeoutMs?: number;
  budget?: Budget;
  /** Once a request of this sandbox is found sensitive, nothing more goes to a cloud provider (until the route changes). */
  sticky?: boolean;
  updatedAt: string;
  author: string;
}

export class RouteError extends Error {}

export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

export function isMode(m: string): m is Mode {
  return (MODES as readonly string[]).includes(m);
}

export interface SetRoute {
  provider: string;
  model: string;
  alias?: string;
  mode?: string;
  /** Add this alias to the sandbox's allowlist instead of replacing the route. */
  add?: boolean;
  idleTimeoutMs?: number;
  budget?: Budget;
  sticky?: boolean;
  author?: string;
}

export class RouteStore {
  readonly dir: string;
  private cache = new Map<string, { ino: number; mtimeMs: number; size: number; route: SandboxRoute | null }>();
  constructor(home: string) {
    this.dir = join(home, 'inference', 'routes');
  }

  private file(sandbox: string): string {
    if (!validName(sandbox)) throw new RouteError(`not a sandbox name: ${JSON.stringify(sandbox)}`);
    return join(this.dir, `${sandbox}.json`);
  }

  /** The current route; re-read when the file changed (cheap stat on every request). */
  get(sandbox: string): SandboxRoute | null {
    let path: string;
    try {
      path = this.file(sandbox);
    } catch {
      return null;
    }
    let st;
    try {
      st = statSync(path);
    } catch {
      this.cache.delete(sandbox);
      return null;
    }
    const c = this.cache.get(sandbox);
    if (c && c.ino === st.ino && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.route;
    let route: SandboxRoute | null;
    try {
      route = JSON.parse(readFileSync(path, 'utf8')) as SandboxRoute;
    } catch {
      route = null; // unreadable: the router refuses, it never guesses a route
    }
    this.cache.set(sandbox, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, route });
    return route;
  }

  set(sandbox: string, input: SetRoute): SandboxRoute {
    const path = this.file(sandbox);
    const alias = input.alias ?? input.model;
    if (!ALIAS.test(alias)) throw new RouteError(`alias ${JSON.stringify(alias)}: letters, digits and . _ : / @ -, up to 128`);
    if (input.model.length === 0 || input.model.length > 256 || [...input.model].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new RouteError('--model: 1 to 256 characters, no control characters');
    if (input.mode !== undefined && !isMode(input.mode)) throw new RouteError(`--mode: one of ${MODES.join(', ')}`);
    const prev = this.get(sandbox);
    const entry: ModelRoute = { alias, provider: input.provider, model: input.model };
    const models = input.add === true && prev ? [...prev.models.filter((m) => m.alias !== alias), entry] : [entry];
    const route: SandboxRoute = {
      sandbox,
      rev: (prev?.rev ?? 0) + 1,
      mode: (input.mode as Mode | undefined) ?? prev?.mode ?? 'cloud-with-redaction',
      models,
      ...(input.idleTimeoutMs !== undefined ? { idleTimeoutMs: input.idleTimeoutMs } : prev?.idleTimeoutMs !== undefined ? { idleTimeoutMs: prev.idleTimeoutMs } : {}),
      ...(input.budget !== undefined ? { budget: input.budget } : prev?.budget !== undefined ? { budget: prev.budget } : {}),
      ...(input.sticky !== undefined ? { sticky: input.sticky } : prev?.sticky !== undefined ? { sticky: prev.sticky } : {}),
      updatedAt: new Date().toISOString(),
      author: input.author ?? 'operator',
    };
    ensurePrivateDirs(join(this.dir, '..'), this.dir);
    writeJsonAtomic(path, route, 0o600);
    this.cache.delete(sandbox);
    return route;
  }

  /** Forgets a sandbox's route (the sandbox was destroyed). Returns whether there was one. */
  remove(sandbox: string): boolean {
    let path: string;
    try {
      path = this.file(sandbox);
    } catch {
      return false;
    }
    this.cache.delete(sandbox);
    try {
      rmSync(path);
      return true;
    } catch {
      return false;
    }
  }

  list(): SandboxRoute[] {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    return files
      .sort()
      .map((f) => this.get(f.slice(0, -5)))
      .filter((r): r is SandboxRoute => r !== null);
  }
}
