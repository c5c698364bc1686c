#!/usr/bin/env node
// Brings a fresh Debian 12 machine (Node 20, root) to the point where nemoclaw runs and its tests
// pass: system packages, npm dependencies (Node 24 comes in as the `node` devDependency), the
// native helper, and the JavaScript build that bin/nemoclaw runs. Plain JavaScript that runs on
// Node 20, because Node 24 is one of the things it installs. Idempotent and quiet when nothing is
// missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, staleness } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Debian package -> how we notice that it is missing. A table so that a new need is one line.
const SYSTEM_PACKAGES = [
  { pkg: 'gcc', present: () => onPath('gcc') },
  // C headers and the static libc the helper links (a minimal Debian has gcc without them).
  { pkg: 'libc6-dev', present: () => existsSync('/usr/include/stdint.h') },
  { pkg: 'make', present: () => onPath('make') },
  { pkg: 'pkg-config', present: () => onPath('pkg-config') },
  { pkg: 'libseccomp-dev', present: () => existsSync('/usr/include/seccomp.h') },
  { pkg: 'bubblewrap', present: () => onPath('bwrap') }, // the baseline of bench/sandbox-start
  { pkg: 'curl', present: () => onPath('curl') },
  { pkg: 'python3', present: () => onPath('python3') },
  { pkg: 'iproute2', present: () => onPath('ip') },
  { pkg: 'git', present: () => onPath('git') }, // the clean-workspace tests use a real repository
  { pkg: 'openssl', present: () => onPath('openssl') }, // the tests check our certificates with it
];

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function say(msg) {
  process.stderr.write(`setup: ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    say(`'${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function installSystemPackages() {
  const missing = SYSTEM_PACKAGES.filter((p) => !p.present()).map((p) => p.pkg);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    say(`missing system packages: ${missing.join(', ')}`);
    say(`run as root:  sudo sh -c '${command}'`);
    process.exit(1);
  }
  say(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-q'], { env });
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
}

function installNpmDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
  const stale =
    !existsSync(marker) ||
    !existsSync(node24) ||
    statSync(join(root, 'package.json')).mtimeMs > statSync(marker).mtimeMs;
  if (!stale) return;
  say('installing npm dependencies (Node 24 included)');
  const lock = existsSync(join(root, 'package-lock.json'));
  run('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--loglevel=error']);
  const version = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
  say(`Node ${version} ready in node_modules/.bin`);
}

function buildNative() {
  if (!existsSync(join(root, 'native', 'Makefile'))) return;
  run('make', ['-s', '-C', 'native']);
}

// bin/nemoclaw runs dist/, the sources compiled to JavaScript (scripts/build.mjs, issue 23); a
// stale build is never run (bin/nemoclaw falls back to the sources), so setup rebuilds it.
function buildJs() {
  const why = staleness(root);
  if (why === null) return;
  say(`compiling src/ to dist/ (${why})`);
  if (!build(root, say)) process.exit(1);
}

installSystemPackages();
installNpmDependencies();
buildNative();
buildJs();
