// Integration: files in the workspace that the host acts on later (git hooks and config, editor
// tasks, direnv, the policy file this run obeys) stay read-only inside the sandbox, whether they
// existed or not, and cannot be moved away (real CLI, real helper).
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, tempDirs } from './build-helper.ts';

const [scratch, state] = tempDirs('nemoclaw-test-protect-', 'nemoclaw-test-protect-home-') as [string, string];

function run(ws: string, script: string, extra: string[] = []): SpawnSyncReturns<string> {
  return spawnSync(bin, ['sandbox', 'run', '--workspace', ws, ...extra, '--', 'sh', '-c', script], {
    encoding: 'utf8',
    cwd: ws,
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, NEMOCLAW_HOME: state },
  });
}

const repo = (): string => {
  const ws = mkdtempSync(join(scratch, 'ws-'));
  mkdirSync(join(ws, '.git/hooks'), { recursive: true });
  writeFileSync(join(ws, '.git/config'), '[core]\n');
  return ws;
};

describe('protected workspace paths (real helper)', () => {
  it('existing and missing hook/config paths are read-only inside; other files stay writable', () => {
    const ws = repo();
    const targets = ['.git/config', '.git/hooks/pre-commit', '.git/info/attributes', '.vscode/tasks.json', '.idea/workspace.xml', '.envrc'];
    const r = run(ws, `for f in ${targets.join(' ')}; do (echo x >> "$f") 2>/dev/null && echo "wrote $f"; done; echo ok > normal.txt; echo end`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('wrote');
    expect(r.stdout).toContain('end');
    expect(readFileSync(join(ws, '.git/config'), 'utf8')).toBe('[core]\n');
    expect(readFileSync(join(ws, 'normal.txt'), 'utf8')).toBe('ok\n');
    expect(existsSync(join(ws, '.git/hooks/pre-commit'))).toBe(false);
  });

  it('placeholders (while the run lasts) are empty, owned like their directory, never make a plain directory a repository, and are gone after', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    // Seen from inside: the placeholders are the read-only mounts; their owner is the workspace's.
    const r = run(ws, 'ls -A; stat -c "%s %u" .envrc; stat -c %u . .vscode');
    expect(r.status, r.stderr).toBe(0);
    const [a, b, c, d, e, f] = r.stdout.trim().split('\n');
    expect([a, b, c]).toEqual(['.envrc', '.idea', '.vscode']);
    expect(d?.split(' ')[0]).toBe('0');
    expect(e).toBe(f);
    expect(readdirSync(ws)).toEqual([]);
  });

  it('.git (and the directories on the way to a protected path) cannot be moved away or replaced', () => {
    const ws = repo();
    const r = run(ws, 'mv .git .git-moved 2>/dev/null && echo moved-git; mv .vscode .v2 2>/dev/null && echo moved-vscode; echo end');
    expect(r.stdout).toBe('end\n');
    expect(statSync(join(ws, '.git')).isDirectory()).toBe(true);
  });

  it('a policy file inside the workspace cannot be rewritten by the run that obeys it', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const policy = join(ws, 'nemoclaw-policy.yaml');
    const text = 'version: 1\nfilesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }\n';
    writeFileSync(policy, text);
    const r = run(ws, 'echo "filesystem_policy: { read_only: [/] }" >> nemoclaw-policy.yaml 2>/dev/null && echo wrote; mv nemoclaw-policy.yaml x 2>/dev/null && echo moved; echo end', ['--policy', policy]);
    expect(r.stdout).toBe('end\n');
    expect(readFileSync(policy, 'utf8')).toBe(text);
  });

  it('a refused run creates no placeholders', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const r = spawnSync(bin, ['sandbox', 'run', '--workspace', ws, '--', 'true'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, NEMOCLAW_HOME: join(ws, '.nemoclaw') } });
    expect(r.status).toBe(125);
    expect(readdirSync(ws)).toEqual([]);
  });

  it('--json reports the protected paths and the placeholders it created', () => {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    const r = run(ws, 'true', ['--json']);
    const end = JSON.parse(r.stderr.trim().split('\n').pop() as string) as { protected: string[]; placeholders_created: string[] };
    expect(end.protected).toContain(join(ws, '.git/hooks'));
    expect(end.placeholders_created.sort()).toEqual([join(ws, '.envrc'), join(ws, '.idea'), join(ws, '.vscode')]);
  });
});
