// Shared helpers for the audit tests: temp homes, filling a log, reading and rewriting segments.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { openAuditLog } from '../../src/audit/index.ts';
import type { AuditLog, OpenOptions } from '../../src/audit/index.ts';

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'nemoclaw-audit-'));
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

/** Appends n records in batches of 500 (group commit), returns the open log. */
export async function fill(log: AuditLog, n: number, from = 0): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const batch: Promise<{ seq: number }>[] = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      batch.push(log.append({ kind: 'sandbox.lifecycle', activity: 'start', sandbox: `sb-${from + j}`, binary: '/usr/bin/true', decision: 'allow' }));
    }
    await Promise.all(batch);
  }
}

/** A closed log of n records (plus its shutdown checkpoint). */
export async function makeLog(n: number, opts: Partial<OpenOptions> = {}): Promise<string> {
  const home = tempHome();
  const log = await openAuditLog({ home, heartbeatMs: 0, ...opts });
  await fill(log, n);
  await log.close();
  return home;
}

export function segPath(home: string, n: number): string {
  return join(home, 'audit', `seg-${String(n).padStart(6, '0')}.jsonl`);
}

export function segments(home: string): string[] {
  return readdirSync(join(home, 'audit'))
    .filter((n) => n.startsWith('seg-'))
    .sort()
    .map((n) => join(home, 'audit', n));
}

export function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

export function writeLines(path: string, lines: string[]): void {
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
}

export function cpPath(home: string): string {
  return join(home, 'audit', 'checkpoints.jsonl');
}

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'nemoclaw');

/** `nemoclaw audit ARGS` against `home`, as an operator runs it (exit code, stdout, stderr). */
export function auditCli(home: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(BIN, ['audit', ...args], { env: { ...process.env, NEMOCLAW_HOME: home }, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      done({ code, stdout, stderr });
    });
  });
}
