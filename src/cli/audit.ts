// `nemoclaw audit ...`: verify, tail, export, checkpoints, keys rotate. Formatting only; the log
// logic lives in src/audit.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError, exitCodes, exitQuietlyOnEpipe, parseSince, printJson, showOn, stdout, writeOut } from './output.ts';
import type { Show } from './output.ts';
import { checkInclusion, checkpointToOtlp, endCursor, lastRecords, openAuditLog, parseCheckpointText, parseRecord, postOtlp, proveInclusion, pruneAudit, readCheckpoints, readRecords, readSince, recordToOtlp, toCef, toOcsf, verifyAudit } from '../audit/index.ts';
import type { OtlpLogRecord, RawRecord } from '../audit/index.ts';
import { nemoclawHome } from '../state/index.ts';

function home(): string {
  return nemoclawHome();
}

/**
 * One human line per record: seq, time, kind/activity, decision, who, where. Binary, target and
 * rule come from what a sandbox did; `show` (showOn(stdout) for tail) keeps each one inert and on
 * one line on a terminal.
 */
export function humanLine(r: RawRecord, show: Show = (t) => t): string {
  const rec = parseRecord(r.line);
  const e = rec.event;
  const parts = [String(rec.seq).padStart(6), rec.ts, show(`${e.kind}/${e.activity}`)];
  if (e.decision !== undefined) parts.push(show(e.decision));
  if (e.actor?.user !== undefined) parts.push(`by=${show(e.actor.user)}`);
  if (e.sandbox !== undefined) parts.push(`sandbox=${show(e.sandbox)}`);
  if (e.binary !== undefined) parts.push(`bin=${show(e.binary)}`);
  if (e.target !== undefined) parts.push(`target=${show(e.target)}`);
  if (e.rule !== undefined) parts.push(`rule=${show(e.rule)}`);
  if (e.policy_revision !== undefined) parts.push(`rev=${e.policy_revision}`);
  if (e.count !== undefined) parts.push(`count=${e.count}`);
  return parts.join('  ');
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`not a count: ${v}`);
  return n;
}

export interface VerifyFlags {
  trustedCheckpoint?: string;
  keys?: string;
  json?: boolean;
}

/** `nemoclaw audit verify`: a function of its flags, which main.ts's fast path also runs (issue 23). */
export async function auditVerify(o: VerifyFlags): Promise<void> {
  exitQuietlyOnEpipe();
  let report: Awaited<ReturnType<typeof verifyAudit>>;
  try {
    report = await verifyAudit({
      home: home(),
      ...(o.trustedCheckpoint === undefined ? {} : { trustedCheckpoint: o.trustedCheckpoint }),
      ...(o.keys === undefined ? {} : { keys: o.keys }),
    });
  } catch (err) {
    // A --keys or --trusted-checkpoint file that cannot be read or parsed: one line naming it.
    if (err instanceof Error && err.name === 'AuditInputError') {
      const keys = (err as Error & { input: string }).input === 'keys';
      throw new UsageError(`${keys ? '--keys' : '--trusted-checkpoint'} ${showOn(process.stderr)(String(keys ? o.keys : o.trustedCheckpoint))}: ${err.message}`);
    }
    throw err;
  }
  if (o.json === true) printJson(report);
  else {
    stdout.write(`${report.summary}\n`);
    stdout.write(`records ${report.records}, signed up to ${report.authenticatedSize}, checkpoints ${report.checkpoints.valid} valid / ${report.checkpoints.invalid} invalid, root ${report.root}\n`);
    const p = report.pruned;
    // A signed prune is not tampering, but the reader must know the log no longer starts at 1.
    if (p !== null) stdout.write(`pruned by policy at ${p.at} (signed): segments ${p.fromSegment}..${p.toSegment}, records 1..${p.records} (up to ${p.lastTs}), ${p.reason}\n`);
    for (const p of report.problems) stdout.write(`  ${p}\n`);
  }
  process.exitCode = report.status.kind === 'ok' ? exitCodes.ok : exitCodes.failure;
}

export interface TailFlags {
  lines: string;
  follow?: boolean;
  json?: boolean;
}

/** `nemoclaw audit tail`: as auditVerify, run by commander or main.ts's fast path. */
export async function auditTail(o: TailFlags): Promise<void> {
  exitQuietlyOnEpipe();
  const n = positiveInt(o.lines);
  const show = showOn(stdout);
  // --json prints the record's exact line (its hash is over those bytes): JSON-escaped already
  // except C1 and bidi controls, which a terminal then sees as text through show().
  const print = (r: RawRecord): void => {
    stdout.write(`${o.json === true ? show(r.line) : humanLine(r, show)}\n`);
  };
  // Taken before the last records are read, so a follower misses nothing appended meanwhile.
  const cursor = o.follow === true ? endCursor(home()) : null;
  for (const r of lastRecords(home(), n)) print(r);
  if (cursor === null) return;
  let stop = false;
  const onSig = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  while (!stop) {
    for (const r of readSince(home(), cursor)) print(r);
    await sleep(200);
  }
}

/**
 * `nemoclaw audit export | head` must end quietly when the reader goes away: what verify and tail
 * write goes through output.ts's stdout, the rest through process.stdout.
 */
function quietOnEpipe(): void {
  exitQuietlyOnEpipe();
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(exitCodes.ok);
    throw err;
  });
}

/** `audit checkpoints [--json] [--last]` as its commander action runs it (see auditVerify). */
export function auditCheckpoints(o: { json?: boolean; last?: boolean }): void {
  exitQuietlyOnEpipe();
  let cps = readCheckpoints(home());
  if (o.last === true) cps = cps.slice(-1);
  if (o.json === true) {
    printJson(o.last === true ? (cps[0] ?? null) : cps);
    return;
  }
  // writeOut, not process.stdout: building the stream would load node:stream for a listing.
  for (const c of cps) writeOut(`${String(c.size).padStart(8)}  ${c.ts}  ${c.reason.padEnd(12)}  key ${c.key_id} (epoch ${c.epoch})  seg ${c.segment}  root ${c.root}\n`);
}

export function register(program: Command): void {
  quietOnEpipe();
  const audit = program.command('audit').description('tamper-evident audit trail: verify, tail, export, checkpoints, keys');

  audit
    .command('verify')
    .description('check the hash chain, Merkle roots and checkpoint signatures (exit 0 only when ok)')
    .option('--trusted-checkpoint <file>', 'a checkpoint kept outside this machine (detects truncation even if local checkpoints are gone)')
    .option('--keys <file>', 'keys.json to check signatures with (for a copy of the log on another machine)')
    .option('--json', 'print the full report as JSON')
    .action((o: VerifyFlags) => auditVerify(o));

  audit
    .command('prune')
    .description('remove old segments under a signed retention checkpoint (verify then says what was pruned)')
    .option('--before <time>', 'segments whose records are all older than this (RFC 3339, a date, or 30d/12h ago)')
    .option('--max-bytes <size>', 'remove the oldest segments until the log is at most this size (4096, 512MiB, 2GiB)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { before?: string; maxBytes?: string; json?: boolean }) => {
      if (o.before === undefined && o.maxBytes === undefined) throw new UsageError('audit prune: give --before TIME, --max-bytes SIZE, or both');
      const beforeMs = o.before === undefined ? undefined : parseSince(o.before, Date.now());
      // Imported here: the policy component brings zod and yaml (~170 modules) that verify,
      // tail and export never need (issue 23).
      const maxBytes = o.maxBytes === undefined ? undefined : (await import('../policy/index.ts')).parseSize(o.maxBytes);
      if (maxBytes === null) throw new UsageError(`--max-bytes: not a size: ${o.maxBytes}`);
      let result;
      try {
        result = await pruneAudit({ home: home(), ...(beforeMs === undefined ? {} : { beforeMs }), ...(maxBytes === undefined ? {} : { maxBytes }), actor: process.env.USER ?? 'operator' });
      } catch (err) {
        process.stderr.write(`nemoclaw: audit prune: ${(err as Error).message}\n`);
        process.exitCode = exitCodes.failure;
        return;
      }
      if (o.json === true) printJson(result);
      else if (result.pruned === null) process.stdout.write(`nothing to prune (${result.segmentsKept} segment(s), ${result.keptBytes} bytes; the segment being written is never pruned)\n`);
      else {
        const p = result.pruned;
        process.stdout.write(`pruned segments ${p.fromSegment}..${p.toSegment}: ${p.records} records up to ${p.lastTs}, ${p.bytes} bytes (${p.reason}); kept ${result.segmentsKept} segment(s), ${result.keptBytes} bytes\n`);
      }
    });

  audit
    .command('tail')
    .description('show the last records')
    .option('-n, --lines <n>', 'how many records', '20')
    .option('-f, --follow', 'keep printing new records until interrupted')
    .option('--json', 'print the raw JSONL records')
    .action((o: TailFlags) => auditTail(o));

  audit
    .command('export')
    .description('write records in a SIEM format to stdout, or send them and the checkpoints to an OTLP/HTTP endpoint')
    .option('--format <fmt>', 'jsonl | ocsf | cef', 'jsonl')
    .option('--since <time>', 'only records at or after this time (RFC 3339, or 10m/2h/7d ago)')
    .option('--otlp-endpoint <url>', 'POST records and checkpoints as OTLP/HTTP JSON logs (e.g. http://127.0.0.1:4318)')
    .action(async (o: { format: string; since?: string; otlpEndpoint?: string }) => {
      if (!['jsonl', 'ocsf', 'cef'].includes(o.format)) throw new UsageError(`--format must be jsonl, ocsf or cef, not ${o.format}`);
      const now = Date.now();
      const since = o.since === undefined ? undefined : parseSince(o.since, now);
      if (o.otlpEndpoint !== undefined) {
        try {
          new URL(o.otlpEndpoint);
        } catch {
          throw new UsageError(`--otlp-endpoint: not a URL: ${o.otlpEndpoint}`);
        }
        const out: OtlpLogRecord[] = [];
        for (const r of readRecords(home(), since)) out.push(recordToOtlp(r.line, now));
        const cps = readCheckpoints(home()).filter((c) => since === undefined || Date.parse(c.ts) >= since);
        for (const c of cps) out.push(checkpointToOtlp(c, now));
        try {
          const sent = await postOtlp(o.otlpEndpoint, out);
          process.stderr.write(`sent ${sent - cps.length} records and ${cps.length} checkpoints to ${o.otlpEndpoint}\n`);
        } catch (err) {
          process.stderr.write(`nemoclaw: OTLP export failed: ${(err as Error).message}\n`);
          process.exitCode = exitCodes.failure;
        }
        return;
      }
      let buf = '';
      for (const r of readRecords(home(), since)) {
        buf += o.format === 'jsonl' ? `${r.line}\n` : o.format === 'ocsf' ? `${JSON.stringify(toOcsf(parseRecord(r.line)))}\n` : `${toCef(parseRecord(r.line))}\n`;
        if (buf.length > 1 << 20) {
          process.stdout.write(buf);
          buf = '';
        }
      }
      process.stdout.write(buf);
    });

  audit
    .command('checkpoints')
    .description('list signed checkpoints (copy the last one off this machine: it is your truncation anchor)')
    .option('--json', 'print them as a JSON array')
    .option('--last', 'only the newest one (with --json: a file for verify --trusted-checkpoint)')
    .action(auditCheckpoints);

  audit
    .command('prove')
    .description('inclusion proof of one record against a signed checkpoint (RFC 6962)')
    .requiredOption('--seq <n>', 'the record')
    .option('--checkpoint <file>', 'prove against this checkpoint (default: the newest signed one covering the record)')
    .option('--json', 'print the proof as JSON')
    .action(async (o: { seq: string; checkpoint?: string; json?: boolean }) => {
      const seq = positiveInt(o.seq);
      let against;
      if (o.checkpoint !== undefined) {
        const { cps } = parseCheckpointText(readFileSync(o.checkpoint, 'utf8'));
        against = cps[cps.length - 1];
        if (against === undefined) throw new UsageError(`--checkpoint: no checkpoint in ${o.checkpoint}`);
      }
      let proof;
      try {
        proof = proveInclusion(home(), seq, against);
      } catch (err) {
        process.stderr.write(`nemoclaw: ${(err as Error).message}\n`);
        process.exitCode = exitCodes.failure;
        return;
      }
      const ok = checkInclusion(proof);
      if (o.json === true) printJson({ ...proof, verified: ok });
      else {
        process.stdout.write(`${ok ? 'included' : 'NOT included'}: seq ${seq} in tree of size ${proof.tree_size}, root ${proof.root}\n`);
        process.stdout.write(`checkpoint ${proof.checkpoint.ts} key ${proof.checkpoint.key_id}; path of ${proof.path.length} hashes\n`);
      }
      process.exitCode = ok ? exitCodes.ok : exitCodes.failure;
    });

  const keys = audit.command('keys').description('signing keys');
  keys
    .command('rotate')
    .description('start a new signing epoch; the rotation is recorded in the log and the old private key deleted')
    .option('--json', 'print the new key as JSON')
    .action(async (o: { json?: boolean }) => {
      const log = await openAuditLog({ home: home(), heartbeatMs: 0 });
      try {
        const k = await log.rotateKey();
        if (o.json === true) printJson(k);
        else process.stdout.write(`new signing key ${k.keyId} (epoch ${k.epoch})\n`);
      } finally {
        await log.close();
      }
    });
}
