// Installing agents on the host (design.md "Planned", Agents; docs/agents.md): an agent is
// installed with the project's Node 24 and npm into AGENTS_DIR/<agent>/<version>/ beside a copy of
// that Node 24, so the install is whole by itself and can be bound read-only into a sandbox (the
// host's own Node may be older; nothing is installed inside a sandbox at start, and an agent
// cannot modify its own code). An install is built in a temporary directory, verified (the agent
// prints its version on that Node) and only then renamed into place: a crash, a failed download or
// an agent that does not run leaves no half install where a sandbox would find it.
import { spawn, spawnSync } from 'node:child_process';
import { constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDir, nemoclawHome, pidAlive, releaseLock, tryLock, writeJsonAtomic } from '../state/index.ts';
import { openclaw } from './openclaw.ts';
import type { AgentAdapter, InstalledAgent } from './types.ts';

export const ADAPTERS: Readonly<Record<string, AgentAdapter>> = { openclaw };

/** A usage mistake (unknown agent, bad version): the CLI exits 2. */
export class AgentSpecError extends Error {}
/** The install or its check failed: the CLI exits 1 with this one line. */
export class AgentInstallError extends Error {}

/**
 * Where installs live: NEMOCLAW_AGENTS_DIR, else NEMOCLAW_HOME/agents. The override lets several
 * homes share one install (the tests keep theirs in a cache directory they own).
 */
export function agentsDir(): string {
  const o = process.env.NEMOCLAW_AGENTS_DIR;
  return o !== undefined && o !== '' ? o : join(nemoclawHome(), 'agents');
}

// A version is one path component made of what npm versions are made of: never `..` or a slash.
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/;

/** `openclaw` or `openclaw@2026.9.6` to the adapter and the version (the pinned one when none). */
export function parseAgentSpec(spec: string, opts: { versionRequired?: boolean } = {}): { adapter: AgentAdapter; version: string | null } {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const adapter = ADAPTERS[name];
  if (adapter === undefined) throw new AgentSpecError(`unknown agent ${JSON.stringify(name)}; known: ${Object.keys(ADAPTERS).join(', ')}`);
  const version = at < 0 ? null : spec.slice(at + 1);
  if (version !== null && (!VERSION_RE.test(version) || version.includes('..'))) throw new AgentSpecError(`bad version ${JSON.stringify(version)}: an exact version such as ${adapter.defaultVersion}`);
  if (version === null && opts.versionRequired) throw new AgentSpecError(`name a version: ${name}@VERSION`);
  return { adapter, version };
}

export function installDir(adapter: AgentAdapter, version: string): string {
  return join(agentsDir(), adapter.name, version);
}

/** The Node 24 this process runs on: bin/nemoclaw always runs the project's own (design.md "Toolchain"). */
function projectNode(adapter: AgentAdapter): string {
  const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
  const [wantMaj, wantMin] = adapter.minNode;
  if (maj < wantMaj || (maj === wantMaj && min < wantMin)) {
    throw new AgentInstallError(`${adapter.name} needs Node >= ${wantMaj}.${wantMin}, this is ${process.versions.node}; run through bin/nemoclaw (it uses the project's Node 24)`);
  }
  return process.execPath;
}

/** Runs the agent's `--version` on the install's own Node; returns what it printed or throws. */
export function verifyInstall(adapter: AgentAdapter, dir: string, version: string): string {
  const node = join(dir, 'runtime', 'bin', 'node');
  const entry = join(dir, ...adapter.entry);
  if (!existsSync(node) || !existsSync(entry)) throw new AgentInstallError(`${adapter.name}@${version}: ${existsSync(node) ? entry : node} is missing`);
  // A throwaway HOME: the check must not leave state in the operator's home.
  const home = mkdtempSync(join(tmpdir(), 'nemoclaw-agent-check-'));
  try {
    const r = spawnSync(node, [entry, ...adapter.versionArgs], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: `${join(dir, 'runtime', 'bin')}:/usr/bin:/bin`, HOME: home, TMPDIR: home, ...adapter.env },
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status !== 0 || !adapter.versionMatches(out, version)) {
      throw new AgentInstallError(`${adapter.name}@${version} does not run: \`${adapter.name} ${adapter.versionArgs.join(' ')}\` ${r.error ? r.error.message : `exited ${r.status ?? r.signal}`}: ${out.split('\n').slice(-3).join(' | ').slice(0, 300)}`);
    }
    return out.split('\n')[0] ?? out;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function readManifest(dir: string): InstalledAgent | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as InstalledAgent;
    return { ...m, dir };
  } catch {
    return null;
  }
}

/** Every install under agentsDir() with a manifest (a manifest is written only after the check passed). */
export function listAgents(): InstalledAgent[] {
  const out: InstalledAgent[] = [];
  for (const name of Object.keys(ADAPTERS)) {
    const base = join(agentsDir(), name);
    let versions: string[];
    try {
      versions = readdirSync(base).filter((v) => !v.startsWith('.'));
    } catch {
      continue;
    }
    for (const v of versions.sort()) {
      const m = readManifest(join(base, v));
      if (m !== null) out.push(m);
    }
  }
  return out;
}

/** The verified install of this agent and version, or null. */
export function findInstall(adapter: AgentAdapter, version: string): InstalledAgent | null {
  return readManifest(installDir(adapter, version));
}

/** Removes temporaries of installs whose process is gone (a crash or a kill mid-install). */
function removeDeadTemps(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(?:install|remove)-.*-(\d+)-[0-9a-f]+$/.exec(n);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(base, n), { recursive: true, force: true });
  }
}

export interface InstallOptions {
  /** One line of progress at a time (phase changes, and the package count every 2 s). */
  onProgress?: (line: string) => void;
  /** Reinstall even when a verified install is there. */
  force?: boolean;
}

export interface InstallResult {
  install: InstalledAgent;
  /** True when a verified install was already there and nothing was downloaded. */
  already: boolean;
  ms: number;
}

/** Longest wait for another process's install of the same version (a cold install takes ~45 s). */
const LOCK_WAIT_MS = 15 * 60_000;

export async function installAgent(adapter: AgentAdapter, version: string, opts: InstallOptions = {}): Promise<InstallResult> {
  const t0 = Date.now();
  const say = opts.onProgress ?? (() => undefined);
  const base = join(agentsDir(), adapter.name);
  mkdirSync(base, { recursive: true, mode: 0o755 });
  // One install of a version at a time (two CLIs, or two test files sharing a cache): the second
  // waits, then finds the first one's install and only checks it. Without this, the second would
  // replace an install a running sandbox already binds.
  const lock = join(base, `.lock-${version}`);
  let waiting = false;
  for (;;) {
    const l = tryLock(lock, 0o644);
    if (l.acquired) break;
    if (!waiting) say(`waiting for another install of ${adapter.name}@${version} (pid ${l.holder?.pid ?? '?'})`);
    waiting = true;
    if (Date.now() - t0 > LOCK_WAIT_MS) throw new AgentInstallError(`another install of ${adapter.name}@${version} (pid ${l.holder?.pid ?? '?'}) has held ${lock} for ${Math.round(LOCK_WAIT_MS / 60_000)} min`);
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await installLocked(adapter, version, base, t0, say, opts.force === true);
  } finally {
    releaseLock(lock);
  }
}

async function installLocked(adapter: AgentAdapter, version: string, base: string, t0: number, say: (line: string) => void, force: boolean): Promise<InstallResult> {
  const final = installDir(adapter, version);
  removeDeadTemps(base);
  const present = readManifest(final);
  if (present !== null && !force) {
    // Present is not enough: the check runs again, so a damaged install is replaced, not trusted.
    try {
      verifyInstall(adapter, final, version);
      return { install: present, already: true, ms: Date.now() - t0 };
    } catch (err) {
      say(`the install in ${final} does not run (${(err as Error).message}); reinstalling`);
    }
  }
  const node = projectNode(adapter);
  const tmp = join(base, `.install-${version}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
  mkdirSync(join(tmp, 'runtime', 'bin'), { recursive: true, mode: 0o755 });
  try {
    say(`copying Node ${process.versions.node} into the install`);
    copyFileSync(node, join(tmp, 'runtime', 'bin', 'node'), constants.COPYFILE_FICLONE);
    // The install's own package.json: the exact version and the install scripts npm may run.
    writeFileSync(join(tmp, 'package.json'), `${JSON.stringify({ name: `nemoclaw-agent-${adapter.name}`, private: true, dependencies: { [adapter.npmPackage]: version }, allowScripts: adapter.allowScripts }, null, 2)}\n`);
    say(`npm install ${adapter.npmPackage}@${version} (Node ${process.versions.node})`);
    await npmInstall(tmp, say);
    say('checking that it runs');
    const verified = verifyInstall(adapter, tmp, version);
    const du = spawnSync('du', ['-sb', tmp], { encoding: 'utf8' });
    const bytes = du.status === 0 ? Number(du.stdout.split('\t')[0]) : null;
    const manifest: Omit<InstalledAgent, 'dir'> = {
      agent: adapter.name,
      version,
      node: join('runtime', 'bin', 'node'),
      nodeVersion: process.versions.node,
      entry: join(...adapter.entry),
      installedAt: new Date().toISOString(),
      verified,
      bytes,
    };
    writeJsonAtomic(join(tmp, 'manifest.json'), manifest, 0o644);
    if (existsSync(final)) {
      // A broken or forced-over install: moved aside first, so the rename below is atomic.
      const aside = join(base, `.remove-${version}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
      renameSync(final, aside);
      rmSync(aside, { recursive: true, force: true });
    }
    renameSync(tmp, final);
    fsyncDir(base);
    return { install: { ...manifest, dir: final }, already: false, ms: Date.now() - t0 };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** `npm install` in dir on the Node copied there (npm's `#!/usr/bin/env node` and every install script find it first on PATH). */
function npmInstall(dir: string, say: (line: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=http', '--no-update-notifier'], {
      cwd: dir,
      env: { ...process.env, PATH: `${join(dir, 'runtime', 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let fetched = 0;
    let tail: string[] = [];
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (/^npm http (fetch GET 200|cache) \S+\.tgz|\.tgz /.test(line)) fetched++;
        else if (!line.startsWith('npm http')) tail = [...tail.slice(-9), line];
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const tick = setInterval(() => say(`  ${fetched} packages fetched, ${Math.round((Date.now() - t0) / 1000)} s`), 2000);
    child.on('error', (err) => {
      clearInterval(tick);
      reject(new AgentInstallError(`npm could not start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(tick);
      if (code === 0) {
        say(`  ${fetched} packages in ${Math.round((Date.now() - t0) / 1000)} s`);
        resolvePromise();
      } else {
        const why = tail.filter((l) => /ERR|error/i.test(l)).slice(-3).join(' | ') || tail.slice(-3).join(' | ');
        reject(new AgentInstallError(`npm install exited ${code ?? signal}: ${why.slice(0, 400)}`));
      }
    });
  });
}

/** Removes an install (renamed aside first, so a sandbox never sees half of one). */
export function removeAgent(adapter: AgentAdapter, version: string): boolean {
  const final = installDir(adapter, version);
  if (!existsSync(final)) return false;
  const base = join(agentsDir(), adapter.name);
  const aside = join(base, `.remove-${version}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
  renameSync(final, aside);
  fsyncDir(base);
  rmSync(aside, { recursive: true, force: true });
  return true;
}
