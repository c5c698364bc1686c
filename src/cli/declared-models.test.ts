// create reads a blueprint's text before paying for the policy component: only a file with no
// top-level models: key, or models: [], is skipped; everything else goes to the full load.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_OFFERS, mayDeclareModels } from './declared-models.ts';
import { MODEL_ENGINES } from '../policy/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'nc-declared-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('mayDeclareModels', () => {
  it('the shipped blueprints declare none (dev and strict no key, openclaw an empty list)', async () => {
    expect(await mayDeclareModels('dev')).toBe(false);
    expect(await mayDeclareModels('openclaw')).toBe(false);
    expect(await mayDeclareModels('strict')).toBe(false);
  });

  it('only a sure no skips the full load', async () => {
    expect(await mayDeclareModels(file('none.yaml', 'name: x\nagent:\n  models: 3\n'))).toBe(false); // nested, not top-level
    expect(await mayDeclareModels(file('empty.yaml', 'name: x\nmodels: []   # none\n'))).toBe(false);
    expect(await mayDeclareModels(file('list.yaml', 'name: x\nmodels:\n  - { name: a }\n'))).toBe(true);
    expect(await mayDeclareModels(file('flow.yaml', 'name: x\nmodels: [{ name: a }]\n'))).toBe(true);
    expect(await mayDeclareModels(file('quoted.yaml', 'name: x\n"models": []\n'))).toBe(true); // unusual: the parser decides
    expect(await mayDeclareModels(file('twice.yaml', 'models: []\nmodels: []\n'))).toBe(true); // a duplicate key: the parser reports it
    expect(await mayDeclareModels(join(dir, 'missing.yaml'))).toBe(true); // the full load says why
  });

  it("onboard's offers name engines the blueprint schema (and src/models) knows", () => {
    for (const o of LOCAL_OFFERS) expect(MODEL_ENGINES).toContain(o.engine);
  });
});
