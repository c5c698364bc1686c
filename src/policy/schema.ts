// The policy v1 schema: OpenShell's sandbox policy keys (so their policies load unchanged when they
// use the features we implement) plus our extensions (limits, exec, syscalls, loopback, approvals).
// Every object is strict: a misspelt key is an error, never silently ignored. Values stay as the
// user wrote them (`2GiB`, `60s`); compile.ts turns them into numbers, so a policy written back to
// disk after a merge reads like the one the user wrote.
//
// zod/mini, not zod's classic API (issue 23): the same zod 4 core, so the same checks, issues and
// JSON Schema (load.ts installs the same English messages), without classic's bundle, ~750 KB
// with every locale, whose loading cost `policy validate` ~20 ms. Its functional spelling:
// `z.optional(s)` for `s.optional()`, `s.check(z.superRefine(f))` for `s.superRefine(f)`,
// `z.number().check(z.int(), z.gte(1))` for `.int().min(1)`, `described(s, text)` for `s.describe(text)`.
import * as z from 'zod/mini';
import { addressInfo, allowedIpsEntryError, parseIp } from './address.ts';
import { globSyntaxError } from './glob.ts';
import { parseHostPattern } from './host.ts';
import { endpointLabel, networkPolicyConflicts } from './overlap.ts';
import { LIMIT_DEFAULTS, MAX_LOG_FILES, MIN_LOG_BYTES, MIN_LOG_FILE_BYTES, MIN_TMP_BYTES } from './types.ts';
import { cidrError, parseDuration, parseSize } from './units.ts';

const MAX_PATHS = 256;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

/** Classic `.describe()`: a copy of the schema whose description (what JSON Schema shows) is in zod's global registry. */
export function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  const copy = schema.clone();
  z.globalRegistry.add(copy, { description });
  return copy;
}

/** An absolute, normalised path (no `.`/`..` segments, no NUL); globs only where noted. */
function pathError(p: string): string | null {
  if (!p.startsWith('/')) return `path must be absolute: ${JSON.stringify(p)}`;
  if (p.length > 4096) return 'path longer than 4096 characters';
  if (/[\0\n\r]/.test(p)) return 'path contains NUL or a newline';
  if (p.split('/').some((seg) => seg === '..' || seg === '.')) return `path must not contain \`.\` or \`..\` segments: ${JSON.stringify(p)}`;
  return null;
}

/**
 * OpenShell protocols nemoclaw does not inspect, with what to write instead. Refused with this
 * text (and the line) rather than as an unknown value, so a policy written for OpenShell says
 * exactly what does not carry over (docs/policy-openshell.md).
 */
export const UNSUPPORTED_PROTOCOLS: Readonly<Record<string, string>> = {
  graphql: 'GraphQL inspection (`protocol: graphql`, operation_type/fields rules, persisted queries) is OpenShell\'s and is not supported here; use `protocol: rest` with method/path rules on the GraphQL endpoint (e.g. `allow: { method: POST, path: /graphql }`), or omit `protocol` for a plain tunnel',
  mcp: 'MCP inspection (`protocol: mcp`) is not supported here; use `protocol: rest` with method/path rules on the MCP endpoint, or omit `protocol` for a plain tunnel',
  'json-rpc': 'JSON-RPC inspection (`protocol: json-rpc`) is not supported here; use `protocol: rest` with method/path rules, or omit `protocol` for a plain tunnel',
  sql: 'SQL inspection (`protocol: sql`) is not supported here; omit `protocol` for a plain tunnel',
};

/** OpenShell keys nemoclaw does not implement, by where they appear, and why. load.ts turns an
 *  unknown-key error for one of them into this explanation. */
export const UNSUPPORTED_KEYS: Readonly<Record<'endpoint' | 'rule' | 'binary', Readonly<Record<string, string>>>> = {
  endpoint: {
    persisted_queries: 'is OpenShell\'s GraphQL persisted-query policy; GraphQL inspection is not supported here',
    graphql_persisted_queries: 'is OpenShell\'s GraphQL persisted-query registry; GraphQL inspection is not supported here',
    graphql_max_body_bytes: 'is an OpenShell GraphQL inspection limit; GraphQL inspection is not supported here',
    mcp: 'holds OpenShell\'s MCP inspection options; MCP inspection is not supported here',
    json_rpc: 'holds OpenShell\'s JSON-RPC inspection options; JSON-RPC inspection is not supported here',
    path: 'is OpenShell\'s selector between L7 endpoints sharing a host and port; not supported here: put the path in each rule instead',
    credential_signing: 'is OpenShell\'s provider request signing; credentials never pass through this proxy (the inference router injects its own)',
    credential_binding: 'is OpenShell\'s provider credential binding; credentials never pass through this proxy',
    signing_service: 'belongs to OpenShell\'s credential_signing, which is not supported here',
    signing_region: 'belongs to OpenShell\'s credential_signing, which is not supported here',
    websocket_credential_rewrite: 'is OpenShell\'s credential placeholder rewriting; credentials never pass through this proxy',
    request_body_credential_rewrite: 'is OpenShell\'s credential placeholder rewriting; credentials never pass through this proxy',
    allow_uninspected_credentials: 'is an OpenShell credential option; credentials never pass through this proxy',
  },
  rule: {
    operation_type: 'is an OpenShell GraphQL rule field; GraphQL inspection is not supported here (use method/path)',
    operation_name: 'is an OpenShell GraphQL rule field; GraphQL inspection is not supported here (use method/path)',
    fields: 'is an OpenShell GraphQL rule field; GraphQL inspection is not supported here (use method/path)',
    tool: 'is an OpenShell MCP rule field; MCP inspection is not supported here (use method/path)',
    params: 'is an OpenShell MCP rule field; MCP inspection is not supported here (use method/path)',
  },
  binary: {},
};

/**
 * Builds the schemas of policy and preset files once, on first use (issue 23): constructing ~150
 * zod objects runs cold zod code for milliseconds, which whatever imports the policy component
 * without parsing a policy file (most verbs that load it, the supervisor until its first
 * policy) should not pay at import.
 */
function build() {
  const absPath = z.string().check(
    z.superRefine((p, ctx) => {
      const err = pathError(p);
      if (err) ctx.addIssue({ code: 'custom', message: err });
      else if (/[*?[]/.test(p)) ctx.addIssue({ code: 'custom', message: `filesystem paths cannot be globs: ${JSON.stringify(p)}` });
    }),
  );

  const absGlob = z.string().check(
    z.superRefine((p, ctx) => {
      const err = pathError(p) ?? globSyntaxError(p);
      if (err) ctx.addIssue({ code: 'custom', message: err });
    }),
  );

  const size = z.union([z.string(), z.number()]).check(
    z.superRefine((v, ctx) => {
      if (parseSize(v) === null) ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(v)} (examples: 4096, 512MiB, 2GiB)` });
    }),
  );

  function sizeAtLeast(min: number, label: string) {
    return z.union([z.string(), z.number()]).check(
      z.superRefine((v, ctx) => {
        const n = parseSize(v);
        if (n === null) ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(v)} (examples: 4096, 512MiB, 2GiB)` });
        else if (n < min) ctx.addIssue({ code: 'custom', message: `at least ${label}, got ${JSON.stringify(v)}` });
      }),
    );
  }

  const duration = z.union([z.string(), z.number()]).check(
    z.superRefine((v, ctx) => {
      if (parseDuration(v) === null) ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (examples: 0, 250ms, 60s, 5m, 1h30m)` });
    }),
  );

  const port = z.number().check(z.int(), z.gte(1), z.lte(65535));

  const hostPattern = z.string().check(
    z.superRefine((h, ctx) => {
      const r = parseHostPattern(h);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `host ${JSON.stringify(h)}: ${r.reason}` });
    }),
  );

  const httpMethod = z.string().check(z.regex(/^(?:\*|[A-Za-z]+(?:_[A-Za-z]+)*)$/, 'method must be an HTTP method name or `*`'));

  const valueGlob = z.string().check(
    z.superRefine((g, ctx) => {
      const err = globSyntaxError(g);
      if (err) ctx.addIssue({ code: 'custom', message: err });
    }),
  );

  const requestPathGlob = z.string().check(
    z.superRefine((g, ctx) => {
      // `**` alone is OpenShell's spelling of every path (the same as `/**`).
      if (!g.startsWith('/') && g !== '**') ctx.addIssue({ code: 'custom', message: `request path must start with / (or be \`**\`, every path): ${JSON.stringify(g)}` });
      const err = globSyntaxError(g);
      if (err) ctx.addIssue({ code: 'custom', message: err });
    }),
  );

  const restRule = z.strictObject({
    method: described(z.optional(httpMethod), 'HTTP method (case-insensitive) or `*`; default `*`'),
    path: described(z.optional(requestPathGlob), 'request path glob; default `/**`'),
    query: described(
      z.optional(z.record(z.string(), z.union([valueGlob, z.strictObject({ any: z.array(valueGlob).check(z.minLength(1)) })]))),
      'each named parameter must be present and every value must match',
    ),
  });

  const cidr = z.string().check(
    z.superRefine((c, ctx) => {
      const err = cidrError(c) ?? allowedIpsEntryError(c);
      if (err) ctx.addIssue({ code: 'custom', message: err });
      else if (/\/0$/.test(c)) ctx.addIssue({ code: 'custom', message: `${c} would allow every address; name the private ranges you need` });
    }),
  );

  const protocol = z.enum(['rest', 'websocket', 'tcp'], {
    error: (iss) => {
      const v = typeof iss.input === 'string' ? UNSUPPORTED_PROTOCOLS[iss.input.toLowerCase()] : undefined;
      return v ?? 'protocol must be one of rest, websocket, tcp (omit it for a plain tunnel)';
    },
  });

  const endpointSchema = z
    .strictObject({
      host: described(
        z.optional(hostPattern),
        'exact host, IP, `*.example.com` (one label), `**.example.com` (one or more), `*-x.example.com` or `*.s3.*.example.com` (a `*` stays within one label); omit only with allowed_ips (any name resolving inside them)',
      ),
      port: z.optional(port),
      ports: z.optional(z.array(port).check(z.minLength(1))),
      protocol: described(z.optional(protocol), 'omit for a plain tunnel; `rest` inspects each request (needs `access` or `rules`)'),
      tls: z.optional(z.enum(['auto', 'skip', 'terminate', 'passthrough'])),
      enforcement: described(z.optional(z.enum(['enforce', 'audit'])), '`audit` logs violations and lets them through'),
      access: z.optional(z.enum(['read-only', 'read-write', 'full'])),
      rules: z.optional(z.array(z.strictObject({ allow: restRule }))),
      deny_rules: z.optional(z.array(restRule)),
      allowed_ips: described(
        z.optional(z.array(cidr)),
        'the complete list of addresses this endpoint may resolve to (private ones included); link-local only address by address; never metadata',
      ),
      allow_encoded_slash: z.optional(z.boolean()),
    })
    .check(z.superRefine((e, ctx) => {
      if (e.port === undefined && e.ports === undefined) ctx.addIssue({ code: 'custom', message: 'endpoint needs `port` or `ports`' });
      if (e.port !== undefined && e.ports !== undefined) ctx.addIssue({ code: 'custom', message: 'use either `port` or `ports`, not both', path: ['ports'] });
      if (e.host === undefined && (e.allowed_ips === undefined || e.allowed_ips.length === 0)) {
        ctx.addIssue({ code: 'custom', message: 'endpoint needs `host`, or `allowed_ips` to say which addresses any host may resolve to' });
      }
      if (e.host === undefined && e.protocol === 'tcp') ctx.addIssue({ code: 'custom', message: '`protocol: tcp` needs a `host` (a DNS name)', path: ['protocol'] });
      if (e.access !== undefined && e.rules !== undefined) ctx.addIssue({ code: 'custom', message: '`access` and `rules` are mutually exclusive', path: ['rules'] });
      const inspected = e.protocol === 'rest' || e.protocol === 'websocket';
      if (inspected && e.access === undefined && e.rules === undefined) {
        ctx.addIssue({ code: 'custom', message: `\`protocol: ${e.protocol}\` needs \`access\` or \`rules\` (what may pass); omit \`protocol\` for a plain tunnel`, path: ['protocol'] });
      }
      if (e.deny_rules !== undefined && e.deny_rules.length === 0) {
        ctx.addIssue({ code: 'custom', message: '`deny_rules: []` denies nothing; remove it or list the requests to deny', path: ['deny_rules'] });
      } else if (e.deny_rules !== undefined && e.access === undefined && e.rules === undefined) {
        ctx.addIssue({ code: 'custom', message: '`deny_rules` need `access` or `rules` beside them (what is allowed, before the denials)', path: ['deny_rules'] });
      }
      const l7 = (e.access !== undefined && e.access !== 'full') || e.rules !== undefined || e.deny_rules !== undefined;
      if (l7 && !inspected) {
        const key = e.rules !== undefined ? 'rules' : e.deny_rules !== undefined ? 'deny_rules' : 'access';
        ctx.addIssue({ code: 'custom', message: 'method/path rules need `protocol: rest` (requests are only visible when inspected)', path: [key] });
      }
      if (l7 && e.tls === 'skip') ctx.addIssue({ code: 'custom', message: '`tls: skip` hides requests, so method/path rules cannot apply', path: ['tls'] });
    }));

  const binarySchema = z
    .strictObject({
      path: described(absGlob, 'absolute executable path; `*` and `**` globs allowed'),
      ancestors: described(z.optional(z.boolean()), 'match when a parent of the calling process is this program (OpenShell); not supported here: only `false`'),
    })
    .check(z.superRefine((b, ctx) => {
      // OpenShell lets a rule for `claude` cover the `python3` it spawns. The relay preamble names
      // only the process that called connect() (pid, exe, sha256: native/PROTOCOL.md, "Relay
      // preamble"), so the proxy has nothing to match ancestors against; pretending would allow
      // on a guess.
      if (b.ancestors === true) {
        ctx.addIssue({
          code: 'custom',
          message: '`ancestors: true` is not supported: the relay names only the calling process (native/PROTOCOL.md), not its parents, so a rule cannot match on them; list the programs that connect themselves (e.g. /usr/bin/python3 beside the agent)',
          path: ['ancestors'],
        });
      }
    }));

  const networkPolicySchema = z
    .strictObject({
      name: z.optional(z.string()),
      // Ours: `deny` blocks the endpoints outright (what "deny always" approvals write), winning
      // over every allow; OpenShell has no connection-level deny.
      action: described(z.optional(z.enum(['allow', 'deny'])), 'default allow; `deny` blocks these endpoints for these binaries'),
      endpoints: z.array(endpointSchema).check(z.minLength(1)),
      binaries: described(z.optional(z.array(binarySchema)), 'absent: any calling program'),
    })
    .check(z.superRefine((np, ctx) => {
      if (np.action !== 'deny') {
        // A literal host the address guard never dials (metadata, 0.0.0.0) would be a rule that
        // looks like it allows something and never does.
        np.endpoints.forEach((e, i) => {
          const p = parseHostPattern(e.host);
          const bytes = p.ok && p.pattern.kind === 'exact' ? parseIp(p.pattern.host) : null;
          const info = bytes ? addressInfo(bytes) : null;
          if (info?.access === 'never') ctx.addIssue({ code: 'custom', message: `${e.host ?? ''} is ${info.range}, which is never reachable from a sandbox`, path: ['endpoints', i, 'host'] });
        });
        return;
      }
      np.endpoints.forEach((e, i) => {
        for (const key of ['access', 'rules', 'deny_rules', 'allowed_ips'] as const) {
          if (e[key] !== undefined) ctx.addIssue({ code: 'custom', message: `\`${key}\` has no meaning in an \`action: deny\` entry`, path: ['endpoints', i, key] });
        }
      });
    }));

  const networkPoliciesSchema = z.record(z.string().check(z.regex(NAME_RE, 'rule names use letters, digits, `_`, `.` and `-` (max 63)')), networkPolicySchema).check(
    z.superRefine((nps, ctx) => {
      // Two endpoints that can match one request (host, port, program) but grant different
      // addresses would make the decision depend on rule order; OpenShell refuses such a policy.
      // One error at each endpoint, each naming the other (load.ts adds the other's file:line:col).
      for (const c of networkPolicyConflicts(nps)) {
        const both = `both match ${c.overlap}, with allowed_ips [${c.leftGrant}] vs [${c.rightGrant}]; give them the same allowed_ips`;
        const depth = c.left.length + 1;
        ctx.addIssue({ code: 'custom', message: `conflicts with ${endpointLabel(c.right)}: ${both}`, path: [...c.left, 'allowed_ips'], params: { related: [...c.right, 'allowed_ips'], relatedDepth: depth } });
        ctx.addIssue({ code: 'custom', message: `conflicts with ${endpointLabel(c.left)}: ${both}`, path: [...c.right, 'allowed_ips'], params: { related: [...c.left, 'allowed_ips'], relatedDepth: depth } });
      }
    }),
  );

  const userSpec = z.union([z.string().check(z.regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'not a user name')), z.number().check(z.int())]).check(
    z.superRefine((u, ctx) => {
      if (u === 'root' || u === 0) ctx.addIssue({ code: 'custom', message: 'the workload never runs as root' });
      else if (typeof u === 'number' && (u < 1 || u > 4294967294)) ctx.addIssue({ code: 'custom', message: 'uid must be in 1..4294967294' });
    }),
  );

  const syscallName = z.string().check(z.regex(/^[a-z0-9_]{1,40}$/, 'not a syscall name'));

  /** An agent tool's name as the agent names it (OpenClaw: `exec`, `write`, `browser`...). */
  const toolName = z.string().check(z.regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/, 'tool names use letters, digits, `_`, `.`, `:` and `-` (max 64)'));

  /**
   * An agent's tool calls (docs/approvals.md "Tool calls"): exec-type tools and file writes outside
   * the workspace are always asked; `ask` adds tools (read by the agent's plugin at each start);
   * `allow` and `deny` answer without asking (read at each ask, so an "always" answer applies at once).
   */
  const toolsSchema = z.strictObject({
    ask: described(z.optional(z.array(toolName)), 'tools asked of the operator besides exec-type tools and writes outside the workspace (applies at the next start)'),
    allow: described(z.optional(z.array(toolName)), 'tools allowed without asking (an "allow always" answer appends here)'),
    deny: described(z.optional(z.array(toolName)), 'tools refused without asking (a "deny always" answer appends here)'),
  });

  const approvalsSchema = z.strictObject({
    unmatched_egress: described(z.optional(z.enum(['ask', 'deny', 'audit'])), 'verdict for egress no rule matches; default deny'),
    timeout: described(z.optional(duration), 'how long an ask waits for the operator; default 60s'),
    on_timeout: described(z.optional(z.enum(['deny'])), 'unanswered asks always fail closed'),
  });

  const limitsSchema = z
    .strictObject({
      memory: z.optional(size),
      pids: z.optional(z.number().check(z.int(), z.gte(1))),
      nofile: z.optional(z.number().check(z.int(), z.gte(16))),
      file_size: z.optional(size),
      wall_time: described(z.optional(duration), '0: no limit'),
      cpu: z.optional(z.union([z.number().check(z.positive()), z.string().check(z.regex(/^[0-9]+(?:\.[0-9]+)?%$/, 'cpu is a percentage of one core, e.g. 150%'))])),
      tmp_size: described(z.optional(sizeAtLeast(MIN_TMP_BYTES, '1MiB')), 'each private tmpfs: /tmp, /var/tmp, /dev/shm, a tmpfs HOME (default 512MiB)'),
      log_size: described(z.optional(sizeAtLeast(MIN_LOG_BYTES, '256KiB')), 'all of a supervised sandbox\'s log files together (default 100MiB)'),
      log_files: described(z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_LOG_FILES))), 'how many files log_size is split into (default 5)'),
    })
    .check(
      z.superRefine((l, ctx) => {
        // Each file must hold a whole record (a line is cut at 16 KiB, JSON escaping can grow it).
        const total = l.log_size === undefined ? LIMIT_DEFAULTS.logBytes : (parseSize(l.log_size) ?? 0);
        const files = l.log_files ?? LIMIT_DEFAULTS.logFiles;
        if (total > 0 && total / files < MIN_LOG_FILE_BYTES) {
          ctx.addIssue({ code: 'custom', message: `log_size / log_files must be at least 64KiB per file (got ${Math.floor(total / files)} bytes)`, path: ['log_files'] });
        }
      }),
    );

  const policySchema = z
    .strictObject({
      version: z.literal(1),
      filesystem_policy: z.optional(
        z.strictObject({
          include_workdir: z.optional(z.boolean()),
          read_only: z.optional(z.array(absPath)),
          read_write: z.optional(z.array(absPath)),
        }),
      ),
      landlock: z.optional(z.strictObject({ compatibility: z.enum(['best_effort', 'hard_requirement']) })),
      process: z.optional(z.strictObject({ run_as_user: z.optional(userSpec), run_as_group: z.optional(userSpec) })),
      limits: z.optional(limitsSchema),
      exec: z.optional(
        z.strictObject({
          allow: described(z.optional(z.array(absGlob)), 'empty: anything Landlock lets execute'),
          unmatched: z.optional(z.enum(['allow', 'ask', 'deny'])),
        }),
      ),
      syscalls: z.optional(z.strictObject({ deny: z.optional(z.array(syscallName)), log: z.optional(z.array(syscallName)) })),
      loopback: z.optional(z.strictObject({ bind: z.optional(z.array(port)), connect: z.optional(z.array(port)) })),
      network_policies: z.optional(networkPoliciesSchema),
      approvals: z.optional(approvalsSchema),
      tools: z.optional(toolsSchema),
    })
    .check(
      z.superRefine((p, ctx) => {
        const fs = p.filesystem_policy;
        const rw = fs?.read_write ?? [];
        rw.forEach((path, i) => {
          if (path === '/') ctx.addIssue({ code: 'custom', message: '`/` can never be writable', path: ['filesystem_policy', 'read_write', i] });
        });
        if ((fs?.read_only?.length ?? 0) + rw.length > MAX_PATHS) {
          ctx.addIssue({ code: 'custom', message: `at most ${MAX_PATHS} filesystem paths`, path: ['filesystem_policy'] });
        }
      }),
    );

  const presetSchema = z.strictObject({
    preset: z.strictObject({ name: z.string().check(z.regex(NAME_RE)), description: z.string().check(z.minLength(1)) }),
    network_policies: networkPoliciesSchema,
  });
  return { duration, restRule, endpointSchema, networkPolicySchema, networkPoliciesSchema, toolsSchema, approvalsSchema, policySchema, presetSchema };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/** The policy file schemas (zod/mini), built on the first call. */
export function policySchemas(): Schemas {
  built ??= build();
  return built;
}

export type Policy = z.output<Schemas['policySchema']>;
export type NetworkPolicy = z.output<Schemas['networkPolicySchema']>;
export type Endpoint = z.output<Schemas['endpointSchema']>;
export type RestRule = z.output<Schemas['restRule']>;
export type Preset = z.output<Schemas['presetSchema']>;
