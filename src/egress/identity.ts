// Who is calling: the relay preamble the helper writes before each connection's first byte (pid,
// executable path and its sha256, looked up in the sandbox's /proc), and the per-sandbox pins
// that make a binary's identity stick (trust on first use; a replaced binary is refused).

import { baseEvent } from './context.ts';
import type { ProxyContext, Req, Tracked } from './context.ts';
import { denial, unpinCommand } from './refusal.ts';
import type { Target } from './target.ts';
import type { CallerIdentity } from './types.ts';

export const PREAMBLE_PREFIX = 'NEMOCLAW/1 ';

/** The relay preamble line (without its LF), or null when it is missing or malformed. */
export function parsePreamble(line: string): CallerIdentity | null {
  if (!line.startsWith(PREAMBLE_PREFIX)) return null;
  let v: unknown;
  try {
    v = JSON.parse(line.slice(PREAMBLE_PREFIX.length));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.sandbox !== 'string') return null;
  const pid = typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid >= 0 ? o.pid : null;
  if (pid === null) return null;
  const exe = typeof o.exe === 'string' && o.exe.startsWith('/') && !o.exe.includes('\0') ? o.exe : null;
  const sha256 = typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256) ? o.sha256 : null;
  const uid = typeof o.uid === 'number' && Number.isInteger(o.uid) ? o.uid : null;
  return { sandbox: o.sandbox, pid, exe, sha256, uid, handoff: o.handoff === 1 };
}

/**
 * At most this many binaries are pinned per sandbox (issue 19). Without a bound a workload that
 * copies one binary to fresh paths grows pins.json, which is rewritten whole on every pin, without
 * end; past it a binary that is not pinned yet is refused (it could not be pinned, so it is not
 * trusted) until `nemoclaw NAME unpin` makes room.
 */
export const MAX_PINS = 4096;

/**
 * The binary rules are matched against: the caller's executable when its digest is the pinned
 * one (pinning it now on first use), null when it is unknown or was replaced since it was pinned.
 */
export function trustedBinary(ctx: ProxyContext, identity: CallerIdentity): string | null {
  if (!identity.exe || !identity.sha256) return null;
  const pinned = ctx.pins.get(identity.exe);
  const quiet = { host: null, port: null, method: null, path: null, rule: null };
  if (pinned === undefined) {
    if (ctx.pins.size >= MAX_PINS) return null; // refused by refuseReplacedBinary, saying why
    ctx.pins.set(identity.exe, identity.sha256);
    ctx.opts.onPin?.(identity.exe, identity.sha256);
    ctx.emit({ type: 'binary_pinned', pid: identity.pid, binary: identity.exe, ...quiet, verdict: null, reason: `sha256 ${identity.sha256}` });
    return identity.exe;
  }
  if (pinned === identity.sha256) return identity.exe;
  ctx.emit({ type: 'binary_replaced', pid: identity.pid, binary: identity.exe, ...quiet, verdict: 'deny', reason: `sha256 ${identity.sha256} differs from the pinned ${pinned}; if it was upgraded on purpose: ${unpinCommand(ctx.sandbox, identity.exe)}` });
  return null;
}

/** A caller whose binary differs from its pin gets nothing: no decision, no router. Throws the 403. */
export function refuseReplacedBinary(ctx: ProxyContext, t: Tracked, target: Target, req: Req): void {
  const { exe, sha256 } = t.identity;
  if (!(exe && t.binary === null && sha256 && ctx.pins.get(exe) !== sha256)) return;
  if (!ctx.pins.has(exe)) {
    const hint = unpinCommand(ctx.sandbox);
    const reason = `binary ${exe} cannot be pinned: this sandbox already pins ${MAX_PINS} binaries; forget them with: ${hint}`;
    ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: null, reason, scope: req.method ? 'request' : 'connection' });
    throw denial(ctx, t, target, { rule: null, reason }, req, { error: 'pins_full', hint });
  }
  const unpin = unpinCommand(ctx.sandbox, exe);
  const reason = `binary ${exe} changed since it was first seen (sha256 pinned on first use); if it was upgraded on purpose, trust the new one with: ${unpin}`;
  ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: null, reason, scope: req.method ? 'request' : 'connection' });
  throw denial(ctx, t, target, { rule: null, reason }, req, { error: 'binary_replaced', hint: unpin });
}
