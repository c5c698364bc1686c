// The OpenClaw adapter: which npm package, which version the blueprints pin, where its entry point
// lies in an install, which install scripts it needs, and how to tell that an install runs.
// Why each choice was made (install scripts, Node 24, offline, the gateway): docs/agents.md.
import type { AgentAdapter } from './types.ts';

/**
 * The pinned version (OpenClaw releases every few days; the blueprints name this one, and a
 * sandbox runs exactly what was verified). Change it together with blueprints/openclaw.yaml and
 * blueprints/dev.yaml.
 */
export const OPENCLAW_VERSION = '2026.9.6';

export const openclaw: AgentAdapter = {
  name: 'openclaw',
  defaultVersion: OPENCLAW_VERSION,
  npmPackage: 'openclaw',
  // OpenClaw's engines field: ">=24.16.0 <25 || >=26.1.0" (it needs node:sqlite).
  minNode: [24, 16],
  entry: ['node_modules', 'openclaw', 'openclaw.mjs'],
  // npm 11 runs a dependency's install script only where allowScripts says so. What the install
  // needs, measured (anchor section 1): openclaw's postinstall restores its fs-safe prebuild and
  // prunes stale dist files, koffi's install copies the prebuilt binary it ships (no download).
  // Refused: @google/genai's preinstall (an echo) and protobufjs's postinstall (a version notice).
  allowScripts: { openclaw: true, koffi: true, '@google/genai': false, protobufjs: false },
  versionArgs: ['--version'],
  // `openclaw gateway run` logs "[gateway] ready" once it listens and its plugins loaded.
  readyLine: /\[gateway\] ready\b/,
  // nemoclaw's tool-approval plugin (openclaw-plugin/index.mjs) logs this when OpenClaw loaded it,
  // before the gateway says ready; OpenClaw skips an untrusted plugin with only a warning.
  alsoReady: [/\bnemoclaw: tool approvals on\b/],
  // `openclaw --version` prints "OpenClaw 2026.9.6 (eb377ac)".
  versionMatches: (out, version) => new RegExp(`^OpenClaw ${version.replace(/[.]/g, '\\.')}\\b`, 'm').test(out),
  // No update check, no helper downloads, no mDNS: the install step and the sandbox are offline.
  // fs-safe's native helper (openat2 RESOLVE_BENEATH) is off: the sandbox's seccomp filter answers
  // openat2 with ENOSYS (native/src/seccomp.c: its how lives in memory a filter cannot read) and
  // the helper does not fall back; its JavaScript guards stay on, and Landlock and the mount view
  // bound what any path can reach anyway (design.md invariants 4 and 7).
  //
  // OPENCLAW_PACKAGED_COMPILE_CACHE_RESPAWNED: with NODE_COMPILE_CACHE set (the sandbox sets it, so
  // the cache lives in the persistent HOME), OpenClaw's launcher (openclaw.mjs) starts a second Node
  // to move its cache into a per-version subfolder, and waits for it: every `openclaw` command, the
  // gateway and each chat turn alike, paid a whole Node start (~85 ms on the host, more in a
  // sandbox: see chatEnv). The variable is the launcher's own mark of that child, so it runs in
  // the first process; Node's cache keys entries by content, so one folder for every version is safe.
  env: { OPENCLAW_OFFLINE: '1', OPENCLAW_NO_AUTO_UPDATE: '1', OPENCLAW_DISABLE_BONJOUR: '1', CI: 'true', NO_COLOR: '1', OPENCLAW_FS_SAFE_NATIVE_MODE: 'off', OPENCLAW_PACKAGED_COMPILE_CACHE_RESPAWNED: '1' },
  // A chat turn's CLI (`openclaw agent`) talks only to its gateway on the sandbox's own loopback,
  // which NO_PROXY exempts; the gateway makes the model calls. NODE_USE_ENV_PROXY=1 makes every
  // Node load undici and set up its proxy agent at start (~40 ms of CPU before the first line of
  // the agent runs), so the turn's CLI is started without it. This widens nothing: the sandbox's
  // only way out is still the proxy, and a connection that skipped it has no route (fail closed).
  chatEnv: { NODE_USE_ENV_PROXY: '0' },
};
