// Contract types of the policy component: what it hands to the sandbox (SandboxSpec) and to the
// egress proxy (EgressRuleSet + decideEgress). Other components import these through
// src/policy/index.ts, or this file, a light door that imports nothing heavy (eslint.config.js).
// Extend by adding fields; never change a field's meaning.
import { fileURLToPath } from 'node:url';

/** Static sections of a policy compiled for one sandbox; src/sandbox turns it into helper argv. */
export interface SandboxSpec {
  filesystem: {
    /** Absolute host paths bound read-only (read + execute). */
    readOnly: string[];
    /** Absolute paths bound read-write. `/tmp`, `/var/tmp` mean the sandbox's private tmpfs. */
    readWrite: string[];
    /** Whether the workspace (workdir) is bound read-write and used as cwd. */
    includeWorkdir: boolean;
  };
  landlock: 'hard_requirement' | 'best_effort';
  /** Name of the unprivileged user the workload runs as (never root). */
  runAsUser: string;
  limits: {
    memoryBytes?: number;
    pids?: number;
    nofile?: number;
    fileSizeBytes?: number;
    /** 0 or absent: no wall-time limit. */
    wallTimeMs?: number;
    cpuPercent?: number;
    /** Bytes of each private tmpfs (/tmp, /var/tmp, /dev/shm, a tmpfs HOME); absent: LIMIT_DEFAULTS.tmpBytes. */
    tmpBytes?: number;
    /** A supervised sandbox's log files together; absent: LIMIT_DEFAULTS.logBytes. */
    logBytes?: number;
    /** How many files logBytes is split into; absent: LIMIT_DEFAULTS.logFiles. */
    logFiles?: number;
  };
  exec: {
    /** Globs (`*` within a segment, `**` across). Empty: every exec Landlock permits is allowed. */
    allow: string[];
    unmatched: 'allow' | 'ask' | 'deny';
  };
  syscalls: { deny: string[]; log: string[] };
  /** Loopback TCP ports the agent's own servers use (e.g. an agent gateway). */
  loopback: { bind: number[]; connect: number[] };
}

export type EgressVerdict = 'allow' | 'deny' | 'ask' | 'audit';

/** One request as the proxy sees it, after canonicalisation of the host. */
export interface EgressRequest {
  /** Canonical host (see canonicalizeHost): lower-case, no trailing dot, IDNA A-label or IP literal. */
  host: string;
  port: number;
  /** Executable path of the calling process inside the sandbox; null when unknown. */
  binary: string | null;
  /** Absent at connection level (CONNECT before any L7 request is seen). */
  method?: string;
  path?: string;
  query?: string;
}

export interface EgressDecision {
  verdict: EgressVerdict;
  /**
   * True when the verdict for this host/port/binary depends on method, path or query (an
   * endpoint with L7 rules): the proxy must inspect each request (terminating TLS for HTTPS)
   * and call decideEgress again with method/path/query set. A connection-level decision with
   * `inspect: true` always has verdict `allow` (open and inspect); the per-request decisions
   * are the ones that allow, deny, ask or audit.
   */
  inspect: boolean;
  /** The rule that decided, e.g. `network_policies.github_ro.endpoints[0]`; null when none matched. */
  rule: string | null;
  /** One human sentence, e.g. "POST not permitted by read-only access on api.github.com:443". */
  reason: string;
  /** Addresses/CIDRs the matched endpoint allows even though they are private/loopback. */
  allowedIps: string[];
}

/**
 * What a sandbox gets when its policy does not say (issue 19: nothing a sandbox does may fill the
 * host's memory or disk). tmpfs pages are host memory, so /tmp is bounded in bytes rather than as
 * a share of RAM; the logs follow Docker's `local` driver (5 files of 20 MiB).
 */
export const LIMIT_DEFAULTS = { tmpBytes: 512 * 1024 * 1024, logBytes: 100 * 1024 * 1024, logFiles: 5 } as const;
export const MIN_TMP_BYTES = 1024 * 1024;
export const MIN_LOG_BYTES = 256 * 1024;
export const MIN_LOG_FILE_BYTES = 64 * 1024;
export const MAX_LOG_FILES = 100;

/**
 * The shipped blueprints/ directory (overridable for tests with NEMOCLAW_BLUEPRINTS); its presets
 * are in presets/. Here, in this light door, rather than in blueprint.ts: `policy presets`
 * (src/cli/presets.ts) lists the same folder the engine reads without loading the engine.
 */
export function blueprintsDir(): string {
  return process.env['NEMOCLAW_BLUEPRINTS'] ?? fileURLToPath(new URL('../../blueprints/', import.meta.url));
}
