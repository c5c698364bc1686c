// A learning proposal for one sandbox, as the TUI asks for it through the API (issue 22): its
// records in the audit log since a time or a sequence number, learned (src/policy's pure
// `learn()`) on top of its current revision, with the diff the operator reviews. Reading the log
// can take a while (segments of up to 64 MiB) and the proxies of every sandbox share the
// supervisor's event loop, so the work runs in a worker thread (learn-worker.ts).
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { readRecords } from '../audit/index.ts';
import { defaultPolicy, learn, parsePolicy, unifiedDiff } from '../policy/index.ts';
import type { LearnedRule } from '../policy/index.ts';

export interface LearnRequest {
  home: string;
  sandbox: string;
  /** Records at or after this time (epoch ms) ... */
  sinceMs?: number;
  /** ... or from this sequence number on. */
  sinceSeq?: number;
  /** The current revision the proposal builds on (null: none yet, the default policy). */
  baseText: string | null;
  baseRev: number | null;
  unmatched?: 'ask' | 'deny' | 'audit';
}

export interface LearnProposal {
  sandbox: string;
  /** The revision the proposal was made against: applying it requires that it is still current. */
  rev: number | null;
  /** The proposed policy text (the current one with the learned entries added). */
  text: string;
  /** Unified diff from the current text to the proposal; empty when nothing would change. */
  diff: string;
  rules: LearnedRule[];
  exec: { path: string; hits: number }[];
  /** Exec paths seen that name no program on this host (execvp's PATH lookups): not proposed. */
  execNotFound: string[];
  read: number;
  denied: number;
  alreadyAllowed: number;
  skipped: number;
  /** Highest audit seq read for this sandbox, if any. */
  lastSeq: number | null;
}

/** The proposal itself: reads the log and learns (synchronous; call it off the main thread). */
export function computeProposal(req: LearnRequest): LearnProposal {
  const needle = `"sandbox":${JSON.stringify(req.sandbox)}`;
  const lines: string[] = [];
  let lastSeq: number | null = null;
  for (const r of readRecords(req.home, req.sinceMs)) {
    if (req.sinceSeq !== undefined && r.seq < req.sinceSeq) continue;
    if (!r.line.includes(needle)) continue;
    lines.push(r.line);
    lastSeq = r.seq;
  }
  const base = req.baseText === null ? defaultPolicy() : parsePolicy(req.baseText, `revision ${req.baseRev}`);
  const res = learn(lines, base, { sandbox: req.sandbox, ...(req.baseText !== null ? { baseText: req.baseText } : {}), ...(req.unmatched !== undefined ? { unmatched: req.unmatched } : {}), execExists: (p) => existsSync(p) });
  const changed = res.yaml !== (req.baseText ?? '');
  return {
    sandbox: req.sandbox,
    rev: req.baseRev,
    text: res.yaml,
    diff: changed ? unifiedDiff(req.baseText ?? '', res.yaml, req.baseRev === null ? 'no revision' : `revision ${req.baseRev}`, 'learned') : '',
    rules: res.rules,
    exec: res.exec,
    execNotFound: res.execNotFound,
    read: res.read,
    denied: res.denied,
    alreadyAllowed: res.alreadyAllowed,
    skipped: res.skipped.length,
    lastSeq,
  };
}

/** Bounds one proposal: a log that takes longer than this to read is refused, not waited for. */
const WORKER_TIMEOUT_MS = 60_000;

/** computeProposal in a worker thread. */
export function proposeLearning(req: LearnRequest): Promise<LearnProposal> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./learn-worker.ts', import.meta.url), { workerData: req });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error(`reading the audit log took more than ${WORKER_TIMEOUT_MS / 1000} s; narrow it with a later since`));
    }, WORKER_TIMEOUT_MS);
    w.once('message', (m: { ok: true; proposal: LearnProposal } | { ok: false; error: string }) => {
      clearTimeout(timer);
      if (m.ok) resolve(m.proposal);
      else reject(new Error(m.error));
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    w.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`learning worker exited with ${code}`));
    });
  });
}
