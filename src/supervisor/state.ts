// Per-sandbox state on disk, under sandboxes/<name>/:
//   spec.json    what was asked for (command, workspace, blueprint + digest, restart policy); written once
//   state.json   desired and last known state, restarts, last exit; rewritten on every change
//   pins.json    binaries pinned on first use (exe path -> sha256); rewritten on every new pin or unpin
//   policy/      PolicyStore revisions (src/policy)
//   home/        the sandbox's private HOME
//   logs/output.ndjson   {"ts","stream","line"} per line of the workload's output
// The layout is src/state's (sandboxPaths). Every file is written with src/state's atomic
// protocol (temp file, fsync, rename, fsync of the directory; at creation state.json and spec.json
// share the directory's fsync, see commit()); a sandbox exists once
// spec.json does (mkdir is the claim on the name, so two concurrent creates of one name cannot
// both win).
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { RestartPolicy, SandboxState } from './events.ts';
import { commitStaged, sandboxPaths, stageFileAsync, stageTogether, writeJsonAtomic } from '../state/index.ts';
import type { HomePaths, SandboxPaths, StagedFile } from '../state/index.ts';

export interface SandboxRecord {
  version: 1;
  name: string;
  /** Short random id: names sockets under run/x/ and tags the helper's events. */
  id: string;
  createdAt: string;
  blueprint: string | null;
  blueprintDigest: string | null;
  policyFile: string | null;
  command: string[];
  workspace: string;
  restart: RestartPolicy;
  /** Extra environment for the workload (blueprint agent.env, onboarding answers). */
  env: Record<string, string>;
  /** Presets added on top of the blueprint (onboarding). */
  presets?: string[];
  inference?: { provider: string; credentialEnv: string | null; model: string | null } | null;
  /** The installed agent the blueprint's command runs (src/agents), bound read-only at each start; absent for a command given at create. */
  agent?: { name: string; version: string } | null;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  reason: string;
  at: string;
}

export interface SandboxStateFile {
  desired: 'running' | 'stopped';
  state: SandboxState;
  pid: number | null;
  restarts: number;
  startedAt: string | null;
  lastExit: ExitInfo | null;
  updatedAt: string;
}

export class DuplicateNameError extends Error {}

/** pins.json exists but cannot be read or is not a pin file: nothing may be trusted from it. */
export class PinsUnreadableError extends Error {}

interface PinsFile {
  version: 1;
  pins: Record<string, string>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The bytes writeJsonAtomic writes for `value`. */
function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

export class StateStore {
  readonly paths: HomePaths;

  constructor(paths: HomePaths) {
    this.paths = paths;
    mkdirSync(paths.sandboxes, { recursive: true, mode: 0o700 });
  }

  files(name: string): SandboxPaths {
    return sandboxPaths(this.paths, name);
  }

  dir(name: string): string {
    return this.files(name).dir;
  }

  policyDir(name: string): string {
    return this.files(name).policy;
  }

  homeDir(name: string): string {
    return this.files(name).home;
  }

  logFile(name: string): string {
    return this.files(name).output;
  }

  /**
   * Claims the name (mkdir; throws DuplicateNameError when taken) and creates its directories.
   * The sandbox does not exist until commit() lands its spec.json.
   */
  claim(name: string): void {
    const f = this.files(name);
    try {
      mkdirSync(f.dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new DuplicateNameError(`a sandbox named ${name} already exists`);
      throw err;
    }
    mkdirSync(f.logs, { mode: 0o700 });
    mkdirSync(f.home, { mode: 0o700 });
  }

  /**
   * Writes a claimed sandbox's state.json and spec.json, the commit point, after `first` (its first
   * policy revisions, durable once it resolves). Their temp files are written and fsynced while
   * `first` runs, then renamed state first, spec last, under one fsync of the directory. A crash
   * before spec.json lands leaves a directory without one (removed at the next start: incomplete());
   * once it has landed, the policy is there too. On failure nothing is renamed that was not
   * already, and the caller abandons the name.
   */
  async commit(rec: SandboxRecord, initial: SandboxStateFile, first: () => Promise<void>): Promise<void> {
    const f = this.files(rec.name);
    const files = await stageTogether([stageFileAsync(f.state, json(initial)), stageFileAsync(f.spec, json(rec))], [first()]);
    await commitStaged(files); // [state, spec]: the spec last
  }

  /** Removes a claimed directory whose spec never landed (a create that failed half-way). */
  abandon(name: string): void {
    rmSync(this.dir(name), { recursive: true, force: true });
  }

  names(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.paths.sandboxes);
    } catch {
      return [];
    }
    return entries.filter((n) => readJson<SandboxRecord>(this.files(n).spec) !== null).sort();
  }

  /** Directories without spec.json: creates interrupted by a crash. */
  incomplete(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.paths.sandboxes);
    } catch {
      return [];
    }
    return entries.filter((n) => readJson<SandboxRecord>(this.files(n).spec) === null);
  }

  record(name: string): SandboxRecord | null {
    return readJson<SandboxRecord>(this.files(name).spec);
  }

  state(name: string): SandboxStateFile | null {
    return readJson<SandboxStateFile>(this.files(name).state);
  }

  writeState(name: string, s: SandboxStateFile): void {
    writeJsonAtomic(this.files(name).state, { ...s, updatedAt: new Date().toISOString() });
  }

  /** writeState's temp file, fsynced off the event loop; commitStaged makes it state.json. */
  stageState(name: string, s: SandboxStateFile): Promise<StagedFile> {
    return stageFileAsync(this.files(name).state, json({ ...s, updatedAt: new Date().toISOString() }));
  }

  pinsFile(name: string): string {
    return this.files(name).pins;
  }

  /**
   * The sandbox's pins; none when pins.json does not exist. A file that exists but cannot be
   * read or parsed throws PinsUnreadableError (re-pinning everything would trust replaced binaries).
   */
  readPins(name: string): Map<string, string> {
    const file = this.pinsFile(name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new PinsUnreadableError(`${file}: ${(err as Error).message}`);
    }
    let parsed: PinsFile;
    try {
      parsed = JSON.parse(text) as PinsFile;
    } catch (err) {
      throw new PinsUnreadableError(`${file}: ${(err as Error).message}`);
    }
    const entries = parsed !== null && typeof parsed === 'object' && parsed.version === 1 && typeof parsed.pins === 'object' && parsed.pins !== null ? Object.entries(parsed.pins) : null;
    if (entries === null || !entries.every(([exe, sha]) => exe.startsWith('/') && typeof sha === 'string' && SHA256_HEX.test(sha))) {
      throw new PinsUnreadableError(`${file}: not a pin file ({"version":1,"pins":{"/abs/path":"<sha256 hex>"}})`);
    }
    return new Map(entries);
  }

  /** Replaces pins.json with these pins (writeJsonAtomic: never half-written, durable). */
  writePins(name: string, pins: ReadonlyMap<string, string>): void {
    const file: PinsFile = { version: 1, pins: Object.fromEntries([...pins].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
    writeJsonAtomic(this.pinsFile(name), file);
  }

  destroy(name: string): void {
    // Rename first so a half-removed tree never looks like a sandbox.
    const dir = this.dir(name);
    const gone = join(this.paths.sandboxes, `.destroyed-${name}-${randomBytes(4).toString('hex')}`);
    renameSync(dir, gone);
    rmSync(gone, { recursive: true, force: true });
  }
}
