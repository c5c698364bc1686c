// Merging fragments into a policy and comparing policies. Edits are made on the YAML document,
// not on plain data, so an operator's comments and key order survive `policy add`/`remove`.
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { parsePolicy } from './load.ts';
import type { NetworkPolicy, Policy } from './schema.ts';

export class MergeConflictError extends Error {}

export interface MergeResult {
  text: string;
  policy: Policy;
  added: string[];
  /** Names already present with identical content. */
  unchanged: string[];
}

function stringifyDoc(doc: ReturnType<typeof parseDocument>): string {
  return doc.toString({ lineWidth: 0 });
}

/** Adds named network policies. A name already present with different content is a conflict:
 *  merging must never silently change a rule the operator already reviewed. */
export function mergeNetworkPolicies(text: string, file: string, fragment: Record<string, NetworkPolicy>): MergeResult {
  const current = parsePolicy(text, file);
  const doc = parseDocument(text);
  const added: string[] = [];
  const unchanged: string[] = [];
  for (const [name, np] of Object.entries(fragment)) {
    const existing = current.network_policies?.[name];
    if (existing !== undefined) {
      if (isDeepStrictEqual(existing, np)) {
        unchanged.push(name);
        continue;
      }
      throw new MergeConflictError(`network_policies.${name} already exists with different content; remove it first`);
    }
    if (!doc.has('network_policies') || doc.get('network_policies') === null) doc.set('network_policies', doc.createNode({}));
    doc.setIn(['network_policies', name], doc.createNode(np, { flow: false }));
    added.push(name);
  }
  const out = stringifyDoc(doc);
  return { text: out, policy: parsePolicy(out, file), added, unchanged };
}

/** Appends one glob to an existing, non-empty `exec.allow` list, editing the YAML document so
 *  that comments and the list's style survive. An empty or absent list means "every exec
 *  Landlock permits": the caller must not turn it into a one-entry allowlist, so it is an error. */
export function appendExecAllow(text: string, file: string, glob: string): { text: string; policy: Policy } {
  const current = parsePolicy(text, file);
  if ((current.exec?.allow ?? []).length === 0) throw new Error('exec.allow is empty (every exec Landlock permits is allowed): appending would restrict it');
  const doc = parseDocument(text);
  doc.addIn(['exec', 'allow'], doc.createNode(glob));
  const out = stringifyDoc(doc);
  return { text: out, policy: parsePolicy(out, file) };
}

/** Appends one tool name to `tools.allow` or `tools.deny` (created when absent), keeping comments;
 *  the name is taken off the other list, so the revision says one thing about the tool. */
export function appendToolRule(text: string, file: string, verdict: 'allow' | 'deny', tool: string): { text: string; policy: Policy } {
  const doc = parseDocument(text);
  if (!doc.has('tools') || doc.get('tools') === null) doc.set('tools', doc.createNode({}));
  const other = verdict === 'allow' ? 'deny' : 'allow';
  const current = parsePolicy(text, file);
  const keep = (current.tools?.[other] ?? []).filter((t) => t !== tool);
  if (keep.length !== (current.tools?.[other] ?? []).length) doc.setIn(['tools', other], doc.createNode(keep, { flow: true }));
  if (!doc.hasIn(['tools', verdict])) doc.setIn(['tools', verdict], doc.createNode([tool], { flow: true }));
  else doc.addIn(['tools', verdict], doc.createNode(tool));
  const out = stringifyDoc(doc);
  return { text: out, policy: parsePolicy(out, file) };
}

export interface RemoveResult {
  text: string;
  policy: Policy;
  removed: string[];
  missing: string[];
}

export function removeNetworkPolicies(text: string, file: string, names: readonly string[]): RemoveResult {
  const current = parsePolicy(text, file);
  const doc = parseDocument(text);
  const removed: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    if (current.network_policies?.[name] === undefined) {
      missing.push(name);
      continue;
    }
    doc.deleteIn(['network_policies', name]);
    removed.push(name);
  }
  const out = stringifyDoc(doc);
  return { text: out, policy: parsePolicy(out, file), removed, missing };
}

/** Replaces a top-level section (e.g. `approvals`) with a value, keeping the rest of the text. */
export function setSection(text: string, file: string, key: keyof Policy, value: unknown): { text: string; policy: Policy } {
  const doc = parseDocument(text);
  doc.set(key, doc.createNode(value));
  const out = stringifyDoc(doc);
  return { text: out, policy: parsePolicy(out, file) };
}

/**
 * Every grant and restriction of a policy as one line each, in a stable form; used to tell the
 * operator exactly what `policy set` would drop, and by explain.
 */
export function ruleInventory(policy: Policy): string[] {
  const out: string[] = [];
  const fs = policy.filesystem_policy;
  for (const p of fs?.read_only ?? []) out.push(`filesystem read-only ${p}`);
  for (const p of fs?.read_write ?? []) out.push(`filesystem read-write ${p}`);
  if (fs?.include_workdir === false) out.push('filesystem workspace excluded');
  for (const g of policy.exec?.allow ?? []) out.push(`exec allow ${g}`);
  for (const s of policy.syscalls?.deny ?? []) out.push(`syscall deny ${s}`);
  for (const [name, np] of Object.entries(policy.network_policies ?? {})) {
    const who = np.binaries?.length ? ` for ${np.binaries.map((b) => b.path).join(', ')}` : '';
    np.endpoints.forEach((e, i) => {
      const ports = (e.ports ?? [e.port]).join(',');
      const what = np.action === 'deny' ? 'deny' : e.rules ? `${e.rules.length} rule(s)` : (e.access ?? 'full');
      const host = e.host ?? '<any host>';
      const ips = e.allowed_ips?.length ? ` allowed_ips ${e.allowed_ips.join(',')}` : '';
      out.push(`network_policies.${name}.endpoints[${i}] ${host}:${ports} ${what}${who}${ips}${e.enforcement === 'audit' ? ' (audit)' : ''}`);
      for (const d of e.deny_rules ?? []) out.push(`network_policies.${name}.endpoints[${i}] deny ${d.method ?? '*'} ${d.path ?? '/**'} on ${host}`);
    });
  }
  return out;
}

/** Lines of `ruleInventory(before)` that `after` no longer has. */
export function droppedRules(before: Policy, after: Policy): string[] {
  const keep = new Set(ruleInventory(after));
  return ruleInventory(before).filter((r) => !keep.has(r));
}

/** A unified diff of two texts (line-based LCS; policies are small). */
export function unifiedDiff(a: string, b: string, labelA: string, labelB: string, context = 3): string {
  const x = a.split('\n');
  const y = b.split('\n');
  if (x[x.length - 1] === '') x.pop();
  if (y[y.length - 1] === '') y.pop();
  const n = x.length;
  const m = y.length;
  // LCS table from the end; fine for files of a few thousand lines.
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) row[j] = x[i] === y[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
  }
  type Op = { t: ' ' | '-' | '+'; s: string };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ t: ' ', s: x[i] as string });
      i++;
      j++;
    } else if (j < m && (i >= n || ((lcs[i] as Uint32Array)[j + 1] as number) >= ((lcs[i + 1] as Uint32Array)[j] as number))) {
      ops.push({ t: '+', s: y[j++] as string });
    } else ops.push({ t: '-', s: x[i++] as string });
  }
  const changed = ops.flatMap((o, k) => (o.t === ' ' ? [] : [k]));
  if (changed.length === 0) return '';
  // Lines of a and b consumed before each op, for the hunk headers.
  const aBefore: number[] = [];
  const bBefore: number[] = [];
  let ac = 0;
  let bc = 0;
  for (const o of ops) {
    aBefore.push(ac);
    bBefore.push(bc);
    if (o.t !== '+') ac++;
    if (o.t !== '-') bc++;
  }
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  let h = 0;
  while (h < changed.length) {
    const from = Math.max(0, (changed[h] as number) - context);
    let to = Math.min(ops.length, (changed[h] as number) + context + 1);
    h++;
    while (h < changed.length && (changed[h] as number) - context <= to) {
      to = Math.min(ops.length, (changed[h] as number) + context + 1);
      h++;
    }
    const hunk = ops.slice(from, to);
    const aLen = hunk.filter((o) => o.t !== '+').length;
    const bLen = hunk.filter((o) => o.t !== '-').length;
    out.push(`@@ -${(aBefore[from] as number) + (aLen ? 1 : 0)},${aLen} +${(bBefore[from] as number) + (bLen ? 1 : 0)},${bLen} @@`);
    for (const o of hunk) out.push(`${o.t}${o.s}`);
  }
  return `${out.join('\n')}\n`;
}

/** Sections applied when a sandbox is created; a new revision changes them only for the next one. */
export const STATIC_SECTIONS = ['filesystem_policy', 'landlock', 'process', 'limits', 'exec', 'syscalls', 'loopback'] as const;

/** Static sections that differ between two policies: these need the sandbox re-created, while
 *  `network_policies` and `approvals` are hot-reloaded. */
export function staticChanges(before: Policy, after: Policy): string[] {
  return STATIC_SECTIONS.filter((k) => !isDeepStrictEqual(before[k], after[k]));
}
