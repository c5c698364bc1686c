// `nemoclaw policy learn`: where the events come from (a file, stdin, or a sandbox's records in the
// audit log), which base the proposal starts from, and applying it as a revision. The proposal
// itself is src/policy's pure `learn()` (docs/design.md "Component map": the CLI holds no logic
// beyond reading, asking and printing).
import { readFile } from 'node:fs/promises';
import { readRecords } from '../audit/index.ts';
import { PolicyError, unifiedDiff } from '../policy/index.ts';
import type { LearnResult, Policy, PolicyStore } from '../policy/index.ts';
import { homePaths } from '../state/index.ts';
import { UsageError, parseSince } from './output.ts';

export interface LearnSource {
  /** The lines to learn from. */
  lines: string[];
  /** Where they came from, for messages: a file name, `-`, or `audit log (sandbox S, since ...)`. */
  label: string;
  /** Highest audit seq read (audit log only): `--since SEQ+1` continues from here. */
  lastSeq?: number;
}

/** `--since`: a bare number is an audit sequence number (from that record on); anything else is a time or an age (10m, 2h, RFC 3339). */
export function parseLearnSince(value: string, nowMs: number): { seq: number } | { ms: number } {
  if (/^[0-9]+$/.test(value)) return { seq: Number(value) };
  return { ms: parseSince(value, nowMs) };
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new PolicyError([{ file, line: 1, col: 1, message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, snippet: '' }], { cause: err });
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The sandbox's records in the audit log (which outlives supervisor restarts, unlike the event
 * ring): only lines that name the sandbox are handed on, and learn() checks the field itself.
 */
export function auditSource(home: string, sandbox: string, since: { seq: number } | { ms: number } | undefined): LearnSource {
  const lines: string[] = [];
  const needle = `"sandbox":${JSON.stringify(sandbox)}`;
  let lastSeq: number | undefined;
  for (const r of readRecords(home, since !== undefined && 'ms' in since ? since.ms : undefined)) {
    if (since !== undefined && 'seq' in since && r.seq < since.seq) continue;
    if (!r.line.includes(needle)) continue;
    lines.push(r.line);
    lastSeq = r.seq;
  }
  const from = since === undefined ? '' : 'seq' in since ? `, from seq ${since.seq}` : `, since ${new Date(since.ms).toISOString()}`;
  return { lines, label: `audit log (sandbox ${sandbox}${from})`, ...(lastSeq !== undefined ? { lastSeq } : {}) };
}

export async function learnSource(opts: { events?: string; sandbox?: string; since?: string }, nowMs = Date.now()): Promise<LearnSource> {
  if (opts.events !== undefined) {
    if (opts.since !== undefined) throw new UsageError('--since applies to the audit log (--sandbox without --events)');
    const text = await readInput(opts.events);
    return { lines: text.split(/\r?\n/), label: opts.events === '-' ? '<stdin>' : opts.events };
  }
  if (opts.sandbox === undefined) throw new UsageError('name what to learn from: --sandbox NAME (its audit records) or --events FILE (- for stdin)');
  return auditSource(homePaths().home, opts.sandbox, opts.since === undefined ? undefined : parseLearnSince(opts.since, nowMs));
}

/** The proposal against the text it would replace, as the operator reviews it before applying. */
export function proposalDiff(currentText: string | null, res: LearnResult, rev: number | null): string {
  return unifiedDiff(currentText ?? '', res.yaml, rev === null ? 'no revision' : `revision ${rev}`, 'learned');
}

/** One summary line: what was read and what is proposed. */
export function summaryLine(src: LearnSource, res: LearnResult): string {
  const parts = [
    `${res.read} decision${res.read === 1 ? '' : 's'} read from ${src.label}`,
    `${res.rules.length} destination${res.rules.length === 1 ? '' : 's'} and ${res.exec.length} exec path${res.exec.length === 1 ? '' : 's'} proposed`,
    `${res.alreadyAllowed} already allowed`,
  ];
  if (res.denied > 0) parts.push(`${res.denied} denied (never proposed)`);
  if (res.execNotFound.length > 0) parts.push(`not proposed, no such program on this host (PATH lookups): ${res.execNotFound.join(', ')}`);
  if (src.lastSeq !== undefined) parts.push(`last seq ${src.lastSeq}`);
  return parts.join('; ');
}

export { confirm } from './confirm.ts';

/** The base: --base FILE, else the sandbox's current revision (its text kept), else the default policy. */
export async function learnBase(
  opts: { base?: string; sandbox?: string },
  loadAnyPolicy: (file: string) => Promise<Policy>,
  storeFor: (s: string | undefined) => Promise<PolicyStore>,
): Promise<{ policy?: Policy; text?: string; rev: number | null; currentText: string | null }> {
  const cur = opts.sandbox !== undefined ? await (await storeFor(opts.sandbox)).get() : null;
  const current = { rev: cur?.meta.rev ?? null, currentText: cur?.text ?? null };
  if (opts.base !== undefined) {
    const policy = await loadAnyPolicy(opts.base);
    return { policy, ...current };
  }
  if (cur) return { policy: cur.policy, text: cur.text, ...current };
  return current;
}
