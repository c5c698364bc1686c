// Which sources decide whether the build may run a command (staleSource, pure): the build's own
// check of itself is end to end in test/cli/build.test.ts.
import { describe, expect, it } from 'vitest';
import { type SourceManifest, staleSource } from './freshness.ts';

const manifest: SourceManifest = {
  all: ['tsconfig.json', 'src/cli/main.ts', 'src/cli/sandboxes.ts', 'src/state/lock.ts', 'src/tui/app.ts'],
  closures: {
    'cli/main': [0, 1],
    'cli/sandboxes': [0, 2, 3],
  },
};
const STAMP = 1_000;
/** mtimes: every source older than the stamp but those given. */
const mtimes =
  (changed: Record<string, number | undefined> = {}) =>
  (path: string): number | undefined =>
    Object.hasOwn(changed, path) ? changed[path] : 500;

describe('staleSource', () => {
  it('lets the build run when no source of what the command loads is newer than the stamp', () => {
    expect(staleSource(manifest, ['cli/main', 'cli/sandboxes'], STAMP, mtimes({ 'src/tui/app.ts': 2_000 }))).toBeNull();
  });

  it("names a newer or missing source among the command's", () => {
    expect(staleSource(manifest, ['cli/main', 'cli/sandboxes'], STAMP, mtimes({ 'src/state/lock.ts': 2_000 }))).toBe('src/state/lock.ts changed');
    expect(staleSource(manifest, ['cli/main'], STAMP, mtimes({ 'src/cli/main.ts': undefined }))).toBe('src/cli/main.ts is gone');
    expect(staleSource(manifest, ['cli/main'], STAMP, mtimes({ 'tsconfig.json': 1_001 }))).toBe('tsconfig.json changed');
  });

  it('checks every source for `all`, for a module without a closure, and for a build without closures', () => {
    const tui = mtimes({ 'src/tui/app.ts': 2_000 });
    expect(staleSource(manifest, 'all', STAMP, tui)).toBe('src/tui/app.ts changed');
    expect(staleSource(manifest, ['cli/main', 'cli/doctor'], STAMP, tui)).toBe('src/tui/app.ts changed');
    expect(staleSource({ all: manifest.all }, ['cli/main'], STAMP, tui)).toBe('src/tui/app.ts changed');
  });

  it('treats a source as old as the stamp as fresh (the stamp is written before the build reads)', () => {
    expect(staleSource(manifest, ['cli/main'], STAMP, mtimes({ 'src/cli/main.ts': STAMP }))).toBeNull();
  });
});
