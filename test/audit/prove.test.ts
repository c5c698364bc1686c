// Inclusion proofs of single records against signed checkpoints, through the API and the CLI.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInclusion, proveInclusion } from '../../src/audit/prove.ts';
import { makeLog, readLines, removeHome, segPath } from './helpers.ts';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});

describe('inclusion proofs', () => {
  it('proves every sampled record, and a changed line or path fails', async () => {
    const home = await makeLog(777);
    homes.push(home);
    const lines = readLines(segPath(home, 1));
    for (const seq of [1, 2, 100, 512, 513, 776, 777]) {
      const p = proveInclusion(home, seq);
      expect(p.tree_size).toBe(777);
      expect(p.line).toBe(lines[seq - 1]);
      expect(checkInclusion(p)).toBe(true);
      expect(checkInclusion({ ...p, line: (p.line as string).replace('"seq"', '"seq" ') })).toBe(false);
      if (p.path.length > 0) expect(checkInclusion({ ...p, path: [...p.path.slice(1), p.path[0] as string] })).toBe(p.path.length === 1);
    }
    expect(() => proveInclusion(home, 778)).toThrow(/no signed checkpoint/);
  });

  it('nemoclaw audit prove --seq N --json', async () => {
    const home = await makeLog(50);
    homes.push(home);
    const bin = resolve(import.meta.dirname, '..', '..', 'bin', 'nemoclaw');
    const out = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(bin, ['audit', 'prove', '--seq', '7', '--json'], { env: { ...process.env, NEMOCLAW_HOME: home }, timeout: 20_000 }, (err, stdout) => {
        done({ code: err === null ? 0 : 1, stdout });
      });
    });
    expect(out.code).toBe(0);
    const p = JSON.parse(out.stdout) as { verified: boolean; seq: number; tree_size: number };
    expect(p).toMatchObject({ verified: true, seq: 7, tree_size: 50 });
  });
});
