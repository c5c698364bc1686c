// Why a command "was not found" although it is there: its ELF loader (PT_INTERP) or its script
// interpreter (#!) is not in the sandbox's view, so execve fails with ENOENT. The check runs only
// after the helper reported that failure (exit 127, exec_errno 2), so a run that starts pays
// nothing for it. It reads host files, which is what the sandbox sees through its binds (the view
// is a set of host paths at the same places, docs/design.md "Security invariants" 7), and models
// that view from the same bind list the helper got: the bound paths, the private tmpfs
// directories, and the symlinks the helper recreates (a listed symlink whose target is bound, and
// the merged-/usr links /bin, /sbin, /lib, /lib64 whenever their target in /usr is bound).
import { closeSync, lstatSync, openSync, readSync, readlinkSync, realpathSync } from 'node:fs';
import { posix } from 'node:path';

/** What the sandbox's root holds, as far as a path lookup is concerned. */
export interface SandboxView {
  /** Host paths bound at the same place (read-only, read-write, the workspace). */
  binds: readonly string[];
  /** Directories that exist inside whatever the host has (private tmpfs, /home/sandbox, /dev, /proc). */
  private: readonly string[];
  /** Symlinks in the new root: path -> link text. */
  links: ReadonlyMap<string, string>;
}

/** Mirrors add_merged_usr_links in native/src/mounts.c. */
export const MERGED_USR = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'] as const;

const PRIVATE_DIRS = ['/tmp', '/var/tmp', '/home/sandbox', '/dev', '/proc'];

function under(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(`${dir}/`);
}

function realOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

function linkOrNull(p: string): string | null {
  try {
    return lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null;
  } catch {
    return null;
  }
}

/**
 * The view the helper builds from these binds (`--ro`/`--rw` paths and the workspace), with the
 * same rules for symlinks as native/src/mounts.c: a listed symlink stays a link when its target
 * lies in another listed path; a merged-/usr link appears when nothing lists it and its target
 * is bound. `readLink` and `real` are the host's (injected for tests).
 */
export function sandboxView(
  binds: readonly string[],
  host: { readLink: (p: string) => string | null; real: (p: string) => string | null } = { readLink: linkOrNull, real: realOrNull },
): SandboxView {
  const links = new Map<string, string>();
  const plain: string[] = [];
  const requestedElsewhere = (real: string, self: string): boolean => binds.some((b) => b !== self && under(real, b));
  for (const b of binds) {
    const text = host.readLink(b);
    const real = text === null ? null : host.real(b);
    if (text !== null && real !== null && requestedElsewhere(real, b)) links.set(b, text);
    else plain.push(b);
  }
  for (const name of MERGED_USR) {
    if (binds.some((b) => under(b, name) || under(name, b))) continue;
    const text = host.readLink(name);
    const real = text === null ? null : host.real(name);
    if (text !== null && real !== null && under(real, '/usr') && requestedElsewhere(real, name)) links.set(name, text);
  }
  return { binds: plain, private: PRIVATE_DIRS, links };
}

/**
 * Where `path` leads inside the sandbox, as a host path, or null when some component is not in
 * the view. Symlinks are followed the way the kernel would inside (at most 40).
 */
export function resolveInView(view: SandboxView, path: string, readLink: (p: string) => string | null = linkOrNull): string | null {
  let todo = posix.normalize(path).split('/').filter((c) => c !== '');
  let cur = '/';
  for (let hops = 0; todo.length > 0; ) {
    const comp = todo.shift() as string;
    if (comp === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, comp);
    const inBind = view.binds.some((b) => under(next, b)) || view.private.some((d) => under(next, d));
    const text = view.links.get(next) ?? (inBind ? readLink(next) : null);
    if (text !== null) {
      if (++hops > 40) return null;
      todo = [...text.split('/').filter((c) => c !== ''), ...todo];
      if (text.startsWith('/')) cur = '/';
      continue;
    }
    if (inBind) {
      try {
        lstatSync(next);
      } catch {
        return null;
      }
    } else if (![...view.binds, ...view.private, ...view.links.keys()].some((b) => under(b, next))) {
      return null; // nothing in the new root's tmpfs at this name
    }
    cur = next;
  }
  return cur;
}

/** The interpreter a file asks the kernel for: `#!` line or ELF PT_INTERP; null for neither. */
export function interpreterOf(file: string): { kind: 'script' | 'elf'; path: string } | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      const line = head.subarray(2, n).toString('latin1').split('\n')[0] ?? '';
      const prog = line.trim().split(/[ \t]+/)[0] ?? '';
      return prog.startsWith('/') ? { kind: 'script', path: prog } : null;
    }
    if (n < 52 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(head, 32) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    if (phentsize < (is64 ? 56 : 32) || phnum > 256) return null;
    const ph = Buffer.alloc(phentsize * phnum);
    if (readSync(fd, ph, 0, ph.length, phoff) !== ph.length) return null;
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (u32(ph, o) !== 3) continue; // PT_INTERP
      const off = is64 ? u64(ph, o + 8) : u32(ph, o + 4);
      const size = is64 ? u64(ph, o + 32) : u32(ph, o + 16);
      if (size < 2 || size > 4096) return null;
      const s = Buffer.alloc(size);
      if (readSync(fd, s, 0, size, off) !== size) return null;
      const path = s.toString('latin1').replace(/\0.*$/s, '');
      return path.startsWith('/') ? { kind: 'elf', path } : null;
    }
    return null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export interface MissingInterpreter {
  /** The file the kernel was asked to run (the command, or an interpreter in its chain). */
  file: string;
  kind: 'script' | 'elf';
  /** The interpreter or loader path that is not in the sandbox. */
  interpreter: string;
  /** What to add to `filesystem_policy.read_only`: the interpreter's directory as named. */
  add: string;
}

/**
 * Explains an execve ENOENT of `command` inside the sandbox: the first interpreter or loader in
 * its chain that the view lacks. Null when the command itself is not in the view (then it really
 * was not found) or nothing is missing.
 */
export function missingInterpreter(view: SandboxView, command: string, searchPath: string, cwd: string): MissingInterpreter | null {
  let file: string | null = null;
  if (command.includes('/')) {
    file = resolveInView(view, posix.resolve(cwd, command));
  } else {
    for (const dir of searchPath.split(':')) {
      const found = resolveInView(view, posix.join(dir === '' ? cwd : dir, command));
      if (found !== null && !lstatSync(found).isDirectory()) {
        file = found;
        break;
      }
    }
  }
  // The kernel follows at most a few interpreters (#! of a #! ...); so do we.
  let named = command;
  for (let depth = 0; file !== null && depth < 4; depth++) {
    const interp = interpreterOf(file);
    if (interp === null) return null;
    const next = resolveInView(view, interp.path);
    if (next === null) return { file: named, kind: interp.kind, interpreter: interp.path, add: posix.dirname(interp.path) };
    file = next;
    named = interp.path;
  }
  return null;
}

/** One line for the operator, instead of "command not found". */
export function describeMissing(command: string, m: MissingInterpreter): string {
  const what = m.kind === 'elf' ? 'its ELF loader' : 'its #! interpreter';
  const whose = m.file === command ? command : `${command} (${m.file})`;
  return `${whose} is in the sandbox but cannot start: ${what} ${m.interpreter} is not visible; add ${m.add} to filesystem_policy.read_only`;
}
