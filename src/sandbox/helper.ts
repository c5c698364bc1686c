// Where the native helper lives, and the refusal to use one the workload could overwrite.
import { accessSync, constants, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { posix } from 'node:path';

/** Environment variable naming another helper binary (tests use it to point at a fake). */
export const HELPER_ENV = 'NEMOCLAW_HELPER';

export class HelperMissingError extends Error {}

/** The built helper in this checkout: native/build/nemoclaw-sandbox. */
export function defaultHelperPath(): string {
  return fileURLToPath(new URL('../../native/build/nemoclaw-sandbox', import.meta.url));
}

/**
 * The helper binary to run: $NEMOCLAW_HELPER when set, else the one `make -C native` builds.
 * Throws HelperMissingError with the command that builds it.
 */
export function helperPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[HELPER_ENV];
  const path = override !== undefined && override !== '' ? override : defaultHelperPath();
  try {
    accessSync(path, constants.X_OK);
  } catch {
    const how = override ? `(${HELPER_ENV} points there)` : `run: make -C native  (or: npm run setup)`;
    throw new HelperMissingError(`helper not built: ${path} is missing or not executable ${how}`);
  }
  return path;
}

function isSameOrUnder(child: string, parent: string): boolean {
  return child === parent || parent === '/' || child.startsWith(`${parent}/`);
}

/**
 * A helper binary inside a directory the workload can write would let one sandbox replace the
 * code that builds the next (the runc CVE-2019-5736 pattern). Pure: compares real paths.
 * Returns the writable root that contains the helper, or null.
 */
export function helperInsideWritable(helperRealPath: string, writableRealPaths: string[]): string | null {
  for (const w of writableRealPaths) if (isSameOrUnder(helperRealPath, w)) return w;
  return null;
}

/**
 * Real path when it exists, else the normalised path (a missing path cannot hold the helper).
 * realpath(3) in one call: the JavaScript realpathSync lstat()s each component on its own, and a
 * sandbox start resolves some twenty paths.
 */
export function realOrSelf(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return posix.normalize(p);
  }
}

/**
 * The host uid and gid the workload runs as when the helper runs as root (native/src/sandbox.h
 * ROOT_MODE_HOST_ID). A directory nemoclaw makes for a sandbox and owns (the demo's workspace) is
 * given to this id, so it needs no idmapped mount, which some filesystems (overlayfs) cannot take.
 */
export const ROOT_MODE_HOST_ID = 64000;
