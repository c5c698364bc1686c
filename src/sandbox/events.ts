// Helper events (native/PROTOCOL.md, "Events"): their types, and a parser that turns the helper's
// NDJSON lines into a discriminated union. The helper is our own code, but several fields
// (paths, exe names) come from the workload and are attacker-controlled, so every line is
// validated field by field against a table instead of being trusted as typed JSON.

export interface LandlockReport {
  /** Landlock ABI in force; 0 when Landlock is not enforced. */
  abi: number;
  fs_rights_handled: number | string;
  /** Whether TCP bind/connect rules are enforced (ABI >= 4). */
  net: boolean;
  /** Scopes in force (ABI >= 6), e.g. `signal`, `abstract_unix_socket`. */
  scoped: string[];
}

export interface SeccompReport {
  mode: string;
  filters: number;
  notify: boolean;
}

export interface CgroupReport {
  version: number;
  path: string;
  controllers: string[];
}

export interface EnforcementReport {
  landlock: LandlockReport;
  seccomp: SeccompReport;
  no_new_privs: boolean;
  cap_eff: string;
  cap_prm: string;
  cap_bnd: string;
  cap_amb: string;
  namespaces: string[];
  cgroup: CgroupReport | null;
  uid: number;
  gid: number;
  /**
   * rlimits as read back inside (null: unlimited) and `tmp_size`, the bytes of the private /tmp
   * as mounted; absent from a helper older than issue 19's.
   */
  limits?: Record<string, number | string | null>;
}

export interface ReadyEvent {
  type: 'ready';
  enforcement: EnforcementReport;
  pid: number;
  skipped: string[];
  degraded: string[];
}
export interface SyscallDeniedEvent {
  type: 'syscall_denied';
  pid: number;
  syscall: string;
  nr: number;
  exe?: string | null;
  action: string;
}
export interface SyscallLoggedEvent {
  type: 'syscall_logged';
  pid: number;
  syscall: string;
  nr: number;
  exe?: string | null;
}
export interface ExecAskEvent {
  type: 'exec_ask';
  id: number;
  pid: number;
  /** As requested by the workload: attacker-controlled, informational only. */
  path: string;
}
export interface ExecDeniedEvent {
  type: 'exec_denied';
  pid: number;
  path: string;
  reason: string;
}
export interface ExecAllowedEvent {
  type: 'exec_allowed';
  pid: number;
  path: string;
  via: string;
}
export interface LimitHitEvent {
  type: 'limit_hit';
  limit: string;
  detail?: string | number | null;
}
export interface EgressConnectionEvent {
  type: 'egress_connection';
  pid: number;
  exe: string | null;
  sha256: string | null;
  port: number;
}
/** A connect() to an address other than the proxy/declared loopback ports (seen, then refused by the kernel). */
export interface EgressDirectEvent {
  type: 'egress_direct';
  pid: number;
  exe?: string | null;
  addr: string;
  port: number;
}
export interface EgressRefusedEvent {
  type: 'egress_refused';
  pid: number;
  reason: string;
  /** `proxy protocol violation`: the line the proxy sent where a handoff control line was due. */
  detail?: string;
}
export interface ErrorEvent {
  type: 'error';
  step: string;
  errno: number;
  message: string;
}
export interface ExitEvent {
  type: 'exit';
  code: number | null;
  signal: string | null;
  reason: string;
  /** errno of the workload's execve of CMD when it failed (2: not found, exit 127; else 126). */
  exec_errno?: number;
}
/** A well-formed line whose `type` this version does not know (the protocol only grows). */
export interface UnknownEvent {
  type: 'unknown';
  originalType: string;
  fields: Record<string, unknown>;
}

export type HelperEvent =
  | ReadyEvent
  | SyscallDeniedEvent
  | SyscallLoggedEvent
  | ExecAskEvent
  | ExecDeniedEvent
  | ExecAllowedEvent
  | LimitHitEvent
  | EgressConnectionEvent
  | EgressDirectEvent
  | EgressRefusedEvent
  | ErrorEvent
  | ExitEvent
  | UnknownEvent;

export type HelperEventType = Exclude<HelperEvent['type'], 'unknown'>;

// Field kinds. `?` suffix: optional (absent or null accepted).
type Kind =
  | 'number'
  | 'number?'
  | 'string'
  | 'boolean'
  | 'strings'
  | 'string|null'
  | 'number|null'
  | 'scalar?'
  | 'string?'
  | 'strings?'
  | 'object';

/** Required shape of each event type: field -> kind. Extra fields are kept, never required. */
const EVENT_FIELDS: Record<HelperEventType, Record<string, Kind>> = {
  ready: { enforcement: 'object', pid: 'number', skipped: 'strings?', degraded: 'strings?' },
  syscall_denied: { pid: 'number', syscall: 'string', nr: 'number', exe: 'string?', action: 'string' },
  syscall_logged: { pid: 'number', syscall: 'string', nr: 'number', exe: 'string?' },
  exec_ask: { id: 'number', pid: 'number', path: 'string' },
  exec_denied: { pid: 'number', path: 'string', reason: 'string' },
  exec_allowed: { pid: 'number', path: 'string', via: 'string' },
  limit_hit: { limit: 'string', detail: 'scalar?' },
  egress_connection: { pid: 'number', exe: 'string?', sha256: 'string?', port: 'number' },
  egress_direct: { pid: 'number', exe: 'string?', addr: 'string', port: 'number' },
  egress_refused: { pid: 'number', reason: 'string', detail: 'string?' },
  error: { step: 'string', errno: 'number', message: 'string' },
  exit: { code: 'number|null', signal: 'string|null', reason: 'string', exec_errno: 'number?' },
};

const ENFORCEMENT_FIELDS: Record<string, Kind> = {
  no_new_privs: 'boolean',
  cap_eff: 'string',
  cap_prm: 'string',
  cap_bnd: 'string',
  cap_amb: 'string',
  namespaces: 'strings',
  uid: 'number',
  gid: 'number',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const KIND_CHECKS: Record<Kind, (v: unknown) => boolean> = {
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  strings: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  'string|null': (v) => v === null || typeof v === 'string',
  'number|null': (v) => v === null || (typeof v === 'number' && Number.isFinite(v)),
  'number?': (v) => v === undefined || v === null || (typeof v === 'number' && Number.isFinite(v)),
  'scalar?': (v) => v === undefined || v === null || typeof v === 'string' || typeof v === 'number',
  'string?': (v) => v === undefined || v === null || typeof v === 'string',
  'strings?': (v) => v === undefined || v === null || (Array.isArray(v) && v.every((s) => typeof s === 'string')),
  object: isRecord,
};

function checkFields(obj: Record<string, unknown>, fields: Record<string, Kind>, where: string): string | null {
  for (const [name, kind] of Object.entries(fields)) {
    if (!KIND_CHECKS[kind](obj[name])) return `${where}.${name}: expected ${kind}`;
  }
  return null;
}

/** The capability field may come as a hex string ("0", "0000000000000000") or a number. */
function capString(v: unknown): unknown {
  return typeof v === 'number' ? v.toString(16) : v;
}

function parseEnforcement(raw: Record<string, unknown>): EnforcementReport | string {
  const e: Record<string, unknown> = { ...raw };
  for (const cap of ['cap_eff', 'cap_prm', 'cap_bnd', 'cap_amb']) e[cap] = capString(e[cap]);
  const bad = checkFields(e, ENFORCEMENT_FIELDS, 'enforcement');
  if (bad) return bad;
  const ll = isRecord(e.landlock) ? e.landlock : {};
  const sc = isRecord(e.seccomp) ? e.seccomp : {};
  const cg = e.cgroup;
  if (cg !== null && cg !== undefined && !isRecord(cg)) return 'enforcement.cgroup: expected object|null';
  const landlock: LandlockReport = {
    abi: typeof ll.abi === 'number' ? ll.abi : 0,
    fs_rights_handled: typeof ll.fs_rights_handled === 'number' || typeof ll.fs_rights_handled === 'string' ? ll.fs_rights_handled : 0,
    net: ll.net === true,
    scoped: Array.isArray(ll.scoped) ? ll.scoped.filter((s): s is string => typeof s === 'string') : [],
  };
  const seccomp: SeccompReport = {
    mode: typeof sc.mode === 'string' ? sc.mode : 'none',
    filters: typeof sc.filters === 'number' ? sc.filters : 0,
    notify: sc.notify === true,
  };
  const cgroup: CgroupReport | null = isRecord(cg)
    ? {
        version: typeof cg.version === 'number' ? cg.version : 0,
        path: typeof cg.path === 'string' ? cg.path : '',
        controllers: Array.isArray(cg.controllers) ? cg.controllers.filter((s): s is string => typeof s === 'string') : [],
      }
    : null;
  return {
    landlock,
    seccomp,
    no_new_privs: e.no_new_privs as boolean,
    cap_eff: e.cap_eff as string,
    cap_prm: e.cap_prm as string,
    cap_bnd: e.cap_bnd as string,
    cap_amb: e.cap_amb as string,
    namespaces: e.namespaces as string[],
    cgroup,
    uid: e.uid as number,
    gid: e.gid as number,
    ...(isRecord(e.limits) ? { limits: scalarFields(e.limits) } : {}),
  };
}

/** Only number, string and null values survive: the report is shown and compared, never eval'd. */
function scalarFields(o: Record<string, unknown>): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const [k, v] of Object.entries(o)) if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
  return out;
}

export type ParseResult = { ok: true; event: HelperEvent } | { ok: false; error: string };

/** Parses one NDJSON line from the helper. Never throws. */
export function parseHelperEvent(line: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (!isRecord(value)) return { ok: false, error: 'not an object' };
  const type = value.type;
  if (typeof type !== 'string') return { ok: false, error: 'no type' };
  if (!Object.hasOwn(EVENT_FIELDS, type)) {
    const { type: _t, ...fields } = value;
    return { ok: true, event: { type: 'unknown', originalType: type, fields } };
  }
  const bad = checkFields(value, EVENT_FIELDS[type as HelperEventType], type);
  if (bad) return { ok: false, error: bad };
  if (type === 'ready') {
    const enforcement = parseEnforcement(value.enforcement as Record<string, unknown>);
    if (typeof enforcement === 'string') return { ok: false, error: `ready.${enforcement}` };
    const event: ReadyEvent = {
      ...(value as object),
      type: 'ready',
      enforcement,
      pid: value.pid as number,
      skipped: (value.skipped as string[] | null | undefined) ?? [],
      degraded: (value.degraded as string[] | null | undefined) ?? [],
    };
    return { ok: true, event };
  }
  // The table above checked every field the type declares.
  return { ok: true, event: value as unknown as HelperEvent };
}

/**
 * Splits a byte stream into lines. Lines longer than `maxLine` bytes are dropped (reported
 * through `onOverflow`) so that a runaway writer cannot grow our memory without bound.
 */
export class LineSplitter {
  private buf = '';
  private dropping = false;
  private readonly maxLine: number;
  private readonly onLine: (line: string) => void;
  private readonly onOverflow: () => void;

  constructor(onLine: (line: string) => void, opts: { maxLine?: number; onOverflow?: () => void } = {}) {
    this.onLine = onLine;
    this.maxLine = opts.maxLine ?? 1 << 20;
    this.onOverflow = opts.onOverflow ?? (() => {});
  }

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl === -1) break;
      const piece = chunk.slice(start, nl);
      if (this.dropping) this.dropping = false;
      else this.emit(this.buf + piece);
      this.buf = '';
      start = nl + 1;
    }
    if (this.dropping) return;
    this.buf += chunk.slice(start);
    if (this.buf.length > this.maxLine) {
      this.buf = '';
      this.dropping = true;
      this.onOverflow();
    }
  }

  /** Call at end of stream: a final line without its newline still counts. */
  end(): void {
    if (!this.dropping && this.buf.length > 0) this.emit(this.buf);
    this.buf = '';
    this.dropping = false;
  }

  private emit(line: string): void {
    if (line.length > this.maxLine) {
      this.onOverflow();
      return;
    }
    if (line.trim().length > 0) this.onLine(line);
  }
}
