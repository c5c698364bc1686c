// The warm pool's configuration (config.json "pool"): what is read, and the one line each unusable
// entry gets. The pool itself runs real sandboxes in test/supervisor/pool.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_POOL_SIZE, poolSizes } from './pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-pool-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sizes(text: string | null): { sizes: Record<string, number>; warnings: string[] } {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  if (text !== null) writeFileSync(file, text);
  const warnings: string[] = [];
  return { sizes: Object.fromEntries(poolSizes(file, (l) => warnings.push(l))), warnings };
}

describe('poolSizes (config.json pool)', () => {
  it('reads blueprint (or default) -> size; no file, no key, or zero: nothing pooled, silently', () => {
    expect(sizes('{"pool":{"dev":2,"default":1,"strict":0}}')).toEqual({ sizes: { dev: 2, default: 1 }, warnings: [] });
    expect(sizes(null)).toEqual({ sizes: {}, warnings: [] });
    expect(sizes('{"audit":{"max_bytes":"1GiB"}}')).toEqual({ sizes: {}, warnings: [] });
  });

  it('skips each unusable entry with one line naming it, keeps the rest', () => {
    const r = sizes(`{"pool":{"dev":-1,"a":1.5,"b":"2","c":${MAX_POOL_SIZE + 1},"ok":${MAX_POOL_SIZE}}}`);
    expect(r.sizes).toEqual({ ok: MAX_POOL_SIZE });
    expect(r.warnings).toHaveLength(4);
    for (const [w, name] of r.warnings.map((w, i) => [w, ['dev', 'a', 'b', 'c'][i]] as const)) expect(w).toContain(`pool.${name} must be a whole number from 0 to ${MAX_POOL_SIZE}`);
  });

  it('a pool that is not an object: one line, nothing pooled', () => {
    for (const bad of ['[1]', '3', 'null', '"dev"']) {
      const r = sizes(`{"pool":${bad}}`);
      expect(r.sizes, bad).toEqual({});
      expect(r.warnings, bad).toEqual(['config.json: pool must be an object {"BLUEPRINT": N}; no sandboxes are pooled']);
    }
  });
});
