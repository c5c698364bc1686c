import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/nemoclaw', import.meta.url));

describe('nemoclaw CLI entry point', () => {
  it('prints its version on the project Node', () => {
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe('0.1.0');
  });

  it('rejects an unknown verb with exit 2 and says so', () => {
    const r = spawnSync(bin, ['no-such-verb'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no-such-verb');
  });
});
