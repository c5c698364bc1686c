// Runs once before any test file: builds the native helper (and the JavaScript build, when stale),
// and fails the whole run with the build's own error when it cannot be built. Integration tests
// then never need to ask whether the helper exists, so none of them can be silently skipped on a
// machine where the build broke.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build, staleness } from '../scripts/build.mjs';
import { idmappableTmp } from './idmappable-tmp.ts';

export default function buildNativeHelper(): (() => void) | void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync('make', ['-s', '-C', 'native'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`the native helper did not build (make -C native exited ${r.status ?? r.signal}); run \`npm run setup\`:\n${r.stderr}`);
  }
  // The JavaScript build bin/nemoclaw runs (scripts/build.mjs): rebuilt when a source changed since
  // `npm run setup`, so the tests that run bin/nemoclaw test what ships, not the fallback.
  if (staleness(root) !== null && !build(root)) throw new Error('src/ did not compile to dist/ (scripts/build.mjs); run `npm run setup`');
  // As root on overlayfs (a privileged container), workspaces go to a tmpfs (test/idmappable-tmp.ts).
  return idmappableTmp() ?? undefined;
}
