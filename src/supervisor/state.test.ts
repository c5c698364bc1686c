// A sandbox's creation on disk (StateStore.claim + commit): the first revisions, state.json and
// spec.json are written together and spec.json, the commit point, lands last; a create that fails
// half-way leaves no sandbox (the next supervisor start removes the claimed directory).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { homePaths } from '../state/index.ts';
import { emptyState } from './runtime.ts';
import type { SandboxRecord } from './state.ts';
import { DuplicateNameError, StateStore } from './state.ts';

const root = mkdtempSync(join(tmpdir(), 'nemoclaw-statestore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const store = (): StateStore => new StateStore(homePaths(join(root, String(n++))));

function record(name: string): SandboxRecord {
  return { version: 1, name, id: '0123456789', createdAt: new Date().toISOString(), blueprint: null, blueprintDigest: null, policyFile: null, command: ['/bin/true'], workspace: root, restart: 'never', env: {} };
}

describe('StateStore.claim + commit', () => {
  it('writes state.json and spec.json after the first revision has landed, and no temp file stays', async () => {
    const s = store();
    s.claim('a');
    const order: string[] = [];
    await s.commit(record('a'), emptyState('running'), async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push(existsSync(s.files('a').spec) ? 'spec before policy' : 'policy first');
      mkdirSync(s.policyDir('a'));
      writeFileSync(join(s.policyDir('a'), 'rev'), 'x');
    });
    expect(order).toEqual(['policy first']);
    expect(s.names()).toEqual(['a']);
    expect(s.record('a')?.command).toEqual(['/bin/true']);
    expect(s.state('a')?.desired).toBe('running');
    expect(readdirSync(s.dir('a')).sort()).toEqual(['home', 'logs', 'policy', 'spec.json', 'state.json']);
    expect(JSON.parse(readFileSync(s.files('a').state, 'utf8')).state).toBe('stopped');
  });

  it('a failed first revision: the error comes back, nothing is committed, the name is an incomplete create', async () => {
    const s = store();
    s.claim('b');
    await expect(s.commit(record('b'), emptyState('running'), async () => Promise.reject(new Error('bad policy')))).rejects.toThrow('bad policy');
    expect(s.names()).toEqual([]);
    expect(s.incomplete()).toEqual(['b']);
    expect(readdirSync(s.dir('b')).sort()).toEqual(['home', 'logs']);
    s.abandon('b');
    expect(s.incomplete()).toEqual([]);
  });

  it('a name is claimed once', () => {
    const s = store();
    s.claim('c');
    expect(() => s.claim('c')).toThrow(DuplicateNameError);
  });
});
