// Numbered policy revisions of one sandbox, on disk:
//   <dir>/revisions/NNNN.yaml   the policy text exactly as applied
//   <dir>/revisions/NNNN.json   {rev, author, reason, time, sha256}, written last
// A revision exists only when its .json exists and its sha256 matches the .yaml, so a crash at
// any point leaves the previous revision current. Each file is written with src/state's durable
// atomic write (temp name, fsync, rename, fsync of the directory). Writers take the `<dir>/.lock`
// lock file (src/state's protocol: pid + start time) so that the approvals queue ("always") and
// the CLI cannot claim the same number.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePolicy } from './load.ts';
import { compileSandboxSpec, decideExec } from './compile.ts';
import { compileEgressRules, decideEgress, normalizeRequestPath } from './egress.ts';
import { globEscape } from './glob.ts';
import { appendExecAllow, appendToolRule, droppedRules, mergeNetworkPolicies, removeNetworkPolicies, staticChanges, unifiedDiff } from './merge.ts';
import type { Endpoint, NetworkPolicy, Policy } from './schema.ts';
import type { StagedFile } from '../state/index.ts';

// src/state (locks, atomic writes) only when a revision is written: every verb that loads the
// policy component, `policy validate` and `explain` included, would otherwise load it and its
// builtins at start-up for nothing (~2 ms, issue 23).
const state = () => import('../state/index.ts');

export interface RevisionMeta {
  rev: number;
  author: string;
  reason: string;
  /** ISO 8601. */
  time: string;
  /** sha256 (hex) of the revision's YAML bytes. */
  sha256: string;
  /** Where the text came from when not typed by hand: `blueprint:<name>@<sha256>`, `preset:<name>`, `approval`. */
  source?: string;
}

export interface Revision {
  meta: RevisionMeta;
  text: string;
  policy: Policy;
}

export interface ChangeOptions {
  author: string;
  reason: string;
  source?: string;
}

/** `set` with `ifRev`: another writer made a newer revision since the text was prepared. */
export class RevisionChangedError extends Error {
  readonly expected: number;
  readonly current: number;
  constructor(expected: number, current: number) {
    super(`the policy changed since this was prepared: revision ${current} is current, not ${expected}; prepare it again`);
    this.expected = expected;
    this.current = current;
  }
}

export interface SetResult {
  applied: boolean;
  /** Static sections that changed: they apply when the sandbox is next created. */
  staticChanged: string[];
  /** Grants and restrictions of the current revision that the new text does not have. */
  dropped: string[];
  meta?: RevisionMeta;
}

export interface AlwaysRule {
  verdict: 'allow' | 'deny';
  host: string;
  port: number;
  /** The calling program; null applies the rule to any program. */
  binary: string | null;
  /** The request of a request-level ask: method and path as the proxy saw them (no query). */
  request?: { method: string; path: string } | undefined;
  author: string;
  reason: string;
}

export interface ExecAllowRule {
  /** Absolute path of the executable the sandbox asked about. */
  path: string;
  author: string;
  reason: string;
}

export interface ToolRule {
  verdict: 'allow' | 'deny';
  /** The agent tool's name (e.g. `exec`). */
  tool: string;
  author: string;
  reason: string;
}

const REV_RE = /^(\d{4,})\.json$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function revName(rev: number): string {
  return String(rev).padStart(4, '0');
}

export class PolicyStore {
  readonly dir: string;
  readonly revisionsDir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.revisionsDir = join(dir, 'revisions');
  }

  /** Complete revisions, oldest first. Torn writes (yaml without meta, bad hash) are skipped. */
  async history(): Promise<RevisionMeta[]> {
    let names: string[];
    try {
      names = await readdir(this.revisionsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const revs = names.flatMap((n) => {
      const m = REV_RE.exec(n);
      return m ? [Number(m[1])] : [];
    });
    revs.sort((a, b) => a - b);
    const out: RevisionMeta[] = [];
    for (const rev of revs) {
      const r = await this.readRevision(rev);
      if (r) out.push(r.meta);
    }
    return out;
  }

  private async readRevision(rev: number): Promise<{ meta: RevisionMeta; text: string } | null> {
    try {
      const meta = JSON.parse(await readFile(join(this.revisionsDir, `${revName(rev)}.json`), 'utf8')) as RevisionMeta;
      const text = await readFile(join(this.revisionsDir, `${revName(rev)}.yaml`), 'utf8');
      if (meta.rev !== rev || meta.sha256 !== sha256Hex(text)) return null;
      return { meta, text };
    } catch {
      return null;
    }
  }

  /** A revision (the latest when rev is omitted); null when there is none. */
  async get(rev?: number): Promise<Revision | null> {
    let n = rev;
    if (n === undefined) {
      const h = await this.history();
      const last = h[h.length - 1];
      if (!last) return null;
      n = last.rev;
    }
    const r = await this.readRevision(n);
    if (!r) return null;
    return { ...r, policy: parsePolicy(r.text, `${this.revisionsDir}/${revName(n)}.yaml`) };
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.revisionsDir, { recursive: true, mode: 0o700 });
    const { releaseLock, tryLock } = await state();
    const lock = join(this.dir, '.lock');
    // A lock whose holder is gone (crashed, or its pid reused) is taken over; a live one is waited for.
    for (let attempt = 0; ; attempt++) {
      const r = tryLock(lock);
      if (r.acquired) break;
      if (attempt > 200) throw new Error(`policy store ${this.dir} is locked by pid ${r.holder?.pid ?? '?'}`);
      await new Promise((res) => setTimeout(res, 25));
    }
    try {
      return await fn();
    } finally {
      releaseLock(lock);
    }
  }

  /**
   * Validates and writes `text` as the next revision (caller holds the lock). A caller that just
   * parsed this very text says `validated`; one that just read the current revision under the lock
   * says `after` (its number, 0 for none), so the history is not read again to number this one.
   */
  private async write(text: string, opts: ChangeOptions, known: { validated?: boolean; after?: number } = {}): Promise<RevisionMeta> {
    if (known.validated !== true) parsePolicy(text, '<new revision>');
    const { commitStaged, discardStaged, stageFileAsync, stageTogether } = await state();
    const rev = (known.after ?? (await this.history()).at(-1)?.rev ?? 0) + 1;
    const meta: RevisionMeta = {
      rev,
      author: opts.author,
      reason: opts.reason,
      time: new Date().toISOString(),
      sha256: sha256Hex(text),
      ...(opts.source ? { source: opts.source } : {}),
    };
    // Both temp files are written and fsynced side by side (one journal commit can carry the
    // two); then the YAML is renamed and its directory entry made durable before the meta file,
    // the commit point, is renamed: until it lands the revision does not exist, and once it has,
    // its YAML is on disk.
    const [yaml, json] = (await stageTogether([stageFileAsync(join(this.revisionsDir, `${revName(rev)}.yaml`), text), stageFileAsync(join(this.revisionsDir, `${revName(rev)}.json`), `${JSON.stringify(meta, null, 2)}\n`)])) as [StagedFile, StagedFile];
    try {
      await commitStaged([yaml]);
    } catch (err) {
      discardStaged([json]);
      throw err;
    }
    await commitStaged([json]);
    return meta;
  }

  /** Replaces the policy. When it would drop anything and `confirm` is not set, nothing is
   *  written and the dropped rules are returned for the operator to review. With `ifRev`, the
   *  write happens only if that is still the current revision (0: none yet), checked under the
   *  lock: a proposal reviewed against one revision never silently replaces a newer one. */
  async set(text: string, opts: ChangeOptions & { confirm?: boolean; ifRev?: number }): Promise<SetResult> {
    const next = parsePolicy(text, '<new policy>');
    return this.withLock(async () => {
      const cur = await this.get();
      if (opts.ifRev !== undefined && (cur?.meta.rev ?? 0) !== opts.ifRev) throw new RevisionChangedError(opts.ifRev, cur?.meta.rev ?? 0);
      const dropped = cur ? droppedRules(cur.policy, next) : [];
      const staticChanged = cur ? staticChanges(cur.policy, next) : [];
      if (dropped.length > 0 && !opts.confirm) return { applied: false, dropped, staticChanged };
      return { applied: true, dropped, staticChanged, meta: await this.write(text, opts, { validated: true, after: cur?.meta.rev ?? 0 }) };
    });
  }

  /** Merges named network policies (a preset fragment or a single rule) into the current one. */
  async add(fragment: Record<string, NetworkPolicy>, opts: ChangeOptions): Promise<{ meta: RevisionMeta | null; added: string[]; unchanged: string[] }> {
    return this.withLock(async () => {
      const cur = await this.requireCurrent();
      const res = mergeNetworkPolicies(cur.text, 'current policy', fragment);
      if (res.added.length === 0) return { meta: null, added: [], unchanged: res.unchanged };
      return { meta: await this.write(res.text, opts, { after: cur.meta.rev }), added: res.added, unchanged: res.unchanged };
    });
  }

  async remove(names: readonly string[], opts: ChangeOptions): Promise<{ meta: RevisionMeta | null; removed: string[]; missing: string[] }> {
    return this.withLock(async () => {
      const cur = await this.requireCurrent();
      const res = removeNetworkPolicies(cur.text, 'current policy', names);
      if (res.removed.length === 0) return { meta: null, removed: [], missing: res.missing };
      return { meta: await this.write(res.text, opts, { after: cur.meta.rev }), removed: res.removed, missing: res.missing };
    });
  }

  /** A new revision with the text of an older one (history is never rewritten). */
  async rollback(rev: number, opts: Partial<ChangeOptions> & { author: string }): Promise<RevisionMeta> {
    return this.withLock(async () => {
      const target = await this.readRevision(rev);
      if (!target) throw new Error(`no revision ${rev}`);
      return this.write(target.text, { author: opts.author, reason: opts.reason ?? `rollback to revision ${rev}`, source: `rollback:${rev}` });
    });
  }

  async diff(a: number, b?: number): Promise<string> {
    const ra = await this.readRevision(a);
    if (!ra) throw new Error(`no revision ${a}`);
    const rb = b === undefined ? await this.get() : await this.readRevision(b);
    if (!rb) throw new Error(`no revision ${b ?? 'current'}`);
    return unifiedDiff(ra.text, rb.text, `revision ${a}`, `revision ${rb.meta.rev}`);
  }

  /**
   * Records an approval answered "always" as a new network policy entry (atomic, under the lock):
   *  - connection-level ask (no request): an L4 endpoint `{host, port}`; for `deny`, an
   *    `action: deny` entry that blocks host:port for the binary;
   *  - request-level ask (`request` set): an L7 endpoint `{host, port, protocol: rest}` that
   *    allows (`rules`) or denies (`deny_rules`, with `rules: []` so it allows nothing itself)
   *    only that method and exact path, any query string. An allow copies the `allowed_ips` the
   *    current revision already grants this host, port and binary (what the proxy used when it
   *    let the asked request through), so the rule reaches the same addresses and no others.
   * The binary and the path are literal: glob characters are escaped. Allowing for an unknown
   * binary (null) is refused, since the rule would apply to every program; denying is not.
   * The revision's reason ends with the exact entry written.
   */
  async addAlwaysRule(rule: AlwaysRule): Promise<{ meta: RevisionMeta | null; name: string; entry: NetworkPolicy }> {
    if (rule.verdict === 'allow' && rule.binary === null) {
      throw new Error(`refusing to allow ${rule.host}:${rule.port} always for an unknown program: the rule would apply to every program`);
    }
    let request: { method: string; path: string } | null = null;
    if (rule.request) {
      const method = rule.request.method.toUpperCase();
      if (!/^[A-Z]+(?:_[A-Z]+)*$/.test(method)) throw new Error(`method ${JSON.stringify(rule.request.method)} cannot be written as a policy rule`);
      const path = normalizeRequestPath(rule.request.path, false);
      if (path === null) throw new Error(`request path ${JSON.stringify(rule.request.path)} cannot be matched by a rule (dot segments, encoded slash, backslash or a bad escape)`);
      request = { method, path };
    }
    const name = alwaysRuleName({ ...rule, request: request ?? undefined });
    return this.withLock(async () => {
      const cur = await this.requireCurrent();
      const host = { host: rule.host, port: rule.port };
      let endpoint: Endpoint;
      if (request === null) endpoint = host;
      else if (rule.verdict === 'deny') endpoint = { ...host, protocol: 'rest', rules: [], deny_rules: [{ method: request.method, path: globEscape(request.path) }] };
      else {
        const conn = decideEgress(compileEgressRules(cur.policy), { host: rule.host, port: rule.port, binary: rule.binary });
        const ips = conn.verdict === 'allow' ? conn.allowedIps : [];
        endpoint = { ...host, protocol: 'rest', rules: [{ allow: { method: request.method, path: globEscape(request.path) } }], ...(ips.length > 0 ? { allowed_ips: [...ips] } : {}) };
      }
      const entry: NetworkPolicy = {
        ...(rule.verdict === 'deny' && request === null ? { action: 'deny' as const } : {}),
        endpoints: [endpoint],
        ...(rule.binary !== null ? { binaries: [{ path: globEscape(rule.binary) }] } : {}),
      };
      const res = mergeNetworkPolicies(cur.text, 'current policy', { [name]: entry });
      if (res.added.length === 0) return { meta: null, name, entry };
      const reason = `${rule.reason}; wrote network_policies.${name}: ${JSON.stringify(entry)}`;
      return { meta: await this.write(res.text, { author: rule.author, reason, source: 'approval' }, { after: cur.meta.rev }), name, entry };
    });
  }

  /**
   * Records an exec approval answered "allow always": the exact path (glob characters escaped) is
   * appended to `exec.allow` in a new revision, keeping the text's comments. `exec` is static, so
   * it applies when the sandbox is next created. Nothing is written when the current revision
   * already allows the path, including when `exec.allow` is empty (everything Landlock permits).
   */
  async addExecAllow(rule: ExecAllowRule): Promise<{ meta: RevisionMeta | null; glob: string }> {
    const path = rule.path;
    if (!path.startsWith('/') || /[\0\n\r]/.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
      throw new Error(`exec path ${JSON.stringify(path)} is not absolute and canonical; not recorded`);
    }
    const glob = globEscape(path);
    return this.withLock(async () => {
      const cur = await this.requireCurrent();
      if (decideExec(compileSandboxSpec(cur.policy), path) === 'allow') return { meta: null, glob };
      const res = appendExecAllow(cur.text, 'current policy', glob);
      const reason = `${rule.reason}; wrote exec.allow += ${JSON.stringify(glob)} (exec is static: applies when the sandbox is next created)`;
      return { meta: await this.write(res.text, { author: rule.author, reason, source: 'approval' }, { after: cur.meta.rev }), glob };
    });
  }

  /**
   * Records a tool-call approval answered "always": the tool's name appended to `tools.allow` or
   * `tools.deny` in a new revision (and taken off the other list). Read at each ask, so it applies
   * to the running sandbox at once. Nothing is written when the revision already says so.
   */
  async addToolRule(rule: ToolRule): Promise<{ meta: RevisionMeta | null }> {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/.test(rule.tool)) throw new Error(`tool name ${JSON.stringify(rule.tool)} cannot be written as a policy rule`);
    return this.withLock(async () => {
      const cur = await this.requireCurrent();
      const other = rule.verdict === 'allow' ? 'deny' : 'allow';
      if ((cur.policy.tools?.[rule.verdict] ?? []).includes(rule.tool) && !(cur.policy.tools?.[other] ?? []).includes(rule.tool)) return { meta: null };
      const res = appendToolRule(cur.text, 'current policy', rule.verdict, rule.tool);
      const reason = `${rule.reason}; wrote tools.${rule.verdict} += ${JSON.stringify(rule.tool)}`;
      return { meta: await this.write(res.text, { author: rule.author, reason, source: 'approval' }, { after: cur.meta.rev }) };
    });
  }

  private async requireCurrent(): Promise<Revision> {
    const cur = await this.get();
    if (!cur) throw new Error(`no policy revision in ${this.dir} yet; use \`policy set\` first`);
    return cur;
  }
}

/** Stable, readable rule name for an "always" decision, e.g. `always_allow_api_github_com_443_gh`;
 *  a request-level one names the method and always ends with a hash of the whole decision, e.g.
 *  `always_allow_POST_api_github_com_443_gh_1a2b3c4d`. */
export function alwaysRuleName(rule: Pick<AlwaysRule, 'verdict' | 'host' | 'port' | 'binary' | 'request'>): string {
  const bin = rule.binary === null ? 'any' : (rule.binary.split('/').pop() ?? 'bin');
  const method = rule.request ? `${rule.request.method.toUpperCase()}_` : '';
  const raw = `always_${rule.verdict}_${method}${rule.host}_${rule.port}_${bin}`.replace(/[^A-Za-z0-9_]/g, '_');
  const req = rule.request ? `\0${rule.request.method.toUpperCase()}\0${rule.request.path}` : '';
  const hash = sha256Hex(`${rule.verdict}\0${rule.host}\0${rule.port}\0${rule.binary ?? ''}${req}`).slice(0, 8);
  return raw.length <= 54 && !rule.request ? raw : `${raw.slice(0, 54)}_${hash}`;
}
