// Crash safety: SIGKILL a writer while it appends heavily; every record it acknowledged must be in
// the log afterwards (same seq, same content) and the log must verify after recovery. Also several
// processes writing into one audit directory at once.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog, verifyAudit } from '../../src/audit/index.ts';
import { removeHome, tempHome } from './helpers.ts';

const root = resolve(import.meta.dirname, '..', '..');
const node = join(root, 'node_modules', '.bin', 'node');
const child = join(root, 'test', 'audit', 'writer-child.ts');

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});

interface Run {
  acks: Map<number, string>;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs the child; kills it with SIGKILL after killAfter acknowledgements (0 = let it finish). */
function runChild(home: string, tag: string, count: number, durable: boolean, killAfter: number): Promise<Run> {
  return new Promise((done, fail) => {
    const p = spawn(node, [child, home, tag, String(count), durable ? '1' : '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acks = new Map<number, string>();
    let buf = '';
    let killed = false;
    const guard = setTimeout(() => p.kill('SIGKILL'), 25_000);
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^(\d+) (\S+)$/.exec(line);
        if (m !== null) acks.set(Number(m[1]), m[2] as string);
      }
      if (killAfter > 0 && !killed && acks.size >= killAfter) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.on('error', fail);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      done({ acks, code, signal });
    });
  });
}

function recordsByseq(home: string): Map<number, string> {
  const out = new Map<number, string>();
  const dir = join(home, 'audit');
  for (const f of readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { seq: number; event: { target?: string } };
      out.set(r.seq, r.event.target ?? '');
    }
  }
  return out;
}

describe('crash safety', () => {
  it('loses no acknowledged record across 10 SIGKILLs during heavy appends', async () => {
    const home = tempHome();
    homes.push(home);
    const all = new Map<number, string>();
    let kills = 0;
    for (let i = 0; i < 10; i++) {
      // Vary where the kill lands; every third run waits for fsync on each record.
      const run = await runChild(home, `r${i}`, 0, i % 3 === 2, 200 + ((i * 379) % 1500));
      if (run.signal === 'SIGKILL') kills += 1;
      for (const [seq, t] of run.acks) {
        expect(all.has(seq), `seq ${seq} acknowledged twice`).toBe(false);
        all.set(seq, t);
      }
    }
    expect(kills).toBe(10);
    // Before recovery the log is either fine up to an unsigned tail, or has a torn tail.
    const before = await verifyAudit({ home });
    expect(['ok', 'torn-tail', 'unauthenticated-tail']).toContain(before.status.kind);
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    await w.close();
    const after = await verifyAudit({ home });
    expect(after.summary).toBe('ok');
    const present = recordsByseq(home);
    for (const [seq, t] of all) expect(present.get(seq), `acknowledged seq ${seq}`).toBe(t);
    expect(all.size).toBeGreaterThan(2000);
  });

  it('lets several processes log into one directory at once', async () => {
    const home = tempHome();
    homes.push(home);
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    const mine: Promise<{ seq: number }>[] = [];
    const children = [runChild(home, 'a', 1500, false, 0), runChild(home, 'b', 1500, true, 0)];
    for (let i = 0; i < 1500; i++) {
      mine.push(w.append({ kind: 'sandbox.lifecycle', sandbox: 'sup', target: `sup-${i}` }));
      if (i % 100 === 99) await Promise.all(mine.slice(-100));
    }
    const runs = await Promise.all(children);
    const own = await Promise.all(mine);
    await w.close();
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.acks.size).toBe(1500);
    }
    const present = recordsByseq(home);
    for (const r of runs) for (const [seq, t] of r.acks) expect(present.get(seq)).toBe(t);
    own.forEach(({ seq }, i) => expect(present.get(seq)).toBe(`sup-${i}`));
    expect((await verifyAudit({ home })).summary).toBe('ok');
  });

  it('does not starve a one-shot writer while another commits back to back', async () => {
    const home = tempHome();
    homes.push(home);
    const w = await openAuditLog({ home, heartbeatMs: 0, lockTimeoutMs: 20_000 });
    let stop = false;
    // A busy supervisor: durable appends one after another (each holds the lock through fsync).
    const busy = (async () => {
      for (let i = 0; i < 20_000 && !stop; i++) await w.append({ kind: 'audit.note', target: `busy-${i}` }, { durable: true });
    })();
    const run = await runChild(home, 'oneshot', 50, false, 0);
    stop = true;
    await busy;
    await w.close();
    expect(run.code).toBe(0);
    expect(run.acks.size).toBe(50);
    expect((await verifyAudit({ home })).summary).toBe('ok');
  });
});
