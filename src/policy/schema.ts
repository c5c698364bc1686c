// The policy v1 schema: OpenShell's sandbox policy keys (so their policies load unchanged when they
// use the features we implement) plus our extensions (limits, exec, syscalls, loopback, approvals).
// Every object is strict: a misspelt key is an error, never silently ignored. Values stay as the
// user wrote them (`2GiB`, `60s`); compile.ts turns them into numbers, so a policy written back to
// disk after a merge reads like the one the user wrote.
import { z } from 'zod';
import { parseHostPattern } from './host.ts';
import { globSyntaxError } from './glob.ts';
import { cidrError, parseDuration, parseSize } from './units.ts';

const MAX_PATHS = 256;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

/** An absolute, normalised path (no `.`/`..` segments, no NUL); globs only where noted. */
function pathError(p: string): string | null {
  if (!p.startsWith('/')) return `path must be absolute: ${JSON.stringify(p)}`;
  if (p.length > 4096) return 'path longer than 4096 characters';
  if (/[\0\n\r]/.test(p)) return 'path contains NUL or a newline';
  if (p.split('/').some((seg) => seg === '..' || seg === '.')) return `path must not contain \`.\` or \`..\` segments: ${JSON.stringify(p)}`;
  return null;
}

export const absPath = z.string().superRefine((p, ctx) => {
  const err = pathError(p);
  if (err) ctx.addIssue({ code: 'custom', message: err });
  else if (/[*?[]/.test(p)) ctx.addIssue({ code: 'custom', message: `filesystem paths cannot be globs: ${JSON.stringify(p)}` });
});

export const absGlob = z.string().superRefine((p, ctx) => {
  const err = pathError(p) ?? globSyntaxError(p);
  if (err) ctx.addIssue({ code: 'custom', message: err });
});

const size = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  if (parseSize(v) === null) ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(v)} (examples: 4096, 512MiB, 2GiB)` });
});

export const duration = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  if (parseDuration(v) === null) ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (examples: 0, 250ms, 60s, 5m, 1h30m)` });
});

const port = z.number().int().min(1).max(65535);

const hostPattern = z.string().superRefine((h, ctx) => {
  const r = parseHostPattern(h);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `host ${JSON.stringify(h)}: ${r.reason}` });
});

const httpMethod = z
  .string()
  .regex(/^(?:\*|[A-Za-z]+(?:_[A-Za-z]+)*)$/, 'method must be an HTTP method name or `*`');

const valueGlob = z.string().superRefine((g, ctx) => {
  const err = globSyntaxError(g);
  if (err) ctx.addIssue({ code: 'custom', message: err });
});

const requestPathGlob = z.string().superRefine((g, ctx) => {
  if (!g.startsWith('/')) ctx.addIssue({ code: 'custom', message: `request path must start with /: ${JSON.stringify(g)}` });
  const err = globSyntaxError(g);
  if (err) ctx.addIssue({ code: 'custom', message: err });
});

export const restRule = z.strictObject({
  method: httpMethod.optional().describe('HTTP method (case-insensitive) or `*`; default `*`'),
  path: requestPathGlob.optional().describe('request path glob; default `/**`'),
  query: z
    .record(z.string(), z.union([valueGlob, z.strictObject({ any: z.array(valueGlob).min(1) })]))
    .optional()
    .describe('each named parameter must be present and every value must match'),
});

const cidr = z.string().superRefine((c, ctx) => {
  const err = cidrError(c);
  if (err) ctx.addIssue({ code: 'custom', message: err });
  else if (/\/0$/.test(c)) ctx.addIssue({ code: 'custom', message: `${c} would allow every address; name the private ranges you need` });
});

export const endpointSchema = z
  .strictObject({
    host: hostPattern.describe('exact host, IP, `*.example.com` (one label) or `**.example.com` (one or more)'),
    port: port.optional(),
    ports: z.array(port).min(1).optional(),
    protocol: z.enum(['rest', 'websocket', 'tcp']).optional().describe('omit for a plain tunnel; `rest` inspects each request'),
    tls: z.enum(['auto', 'skip', 'terminate', 'passthrough']).optional(),
    enforcement: z.enum(['enforce', 'audit']).optional().describe('`audit` logs violations and lets them through'),
    access: z.enum(['read-only', 'read-write', 'full']).optional(),
    rules: z.array(z.strictObject({ allow: restRule })).optional(),
    deny_rules: z.array(restRule).optional(),
    allowed_ips: z.array(cidr).optional().describe('private/loopback addresses this endpoint may resolve to'),
    allow_encoded_slash: z.boolean().optional(),
  })
  .superRefine((e, ctx) => {
    if (e.port === undefined && e.ports === undefined) ctx.addIssue({ code: 'custom', message: 'endpoint needs `port` or `ports`' });
    if (e.port !== undefined && e.ports !== undefined) ctx.addIssue({ code: 'custom', message: 'use either `port` or `ports`, not both', path: ['ports'] });
    if (e.access !== undefined && e.rules !== undefined) ctx.addIssue({ code: 'custom', message: '`access` and `rules` are mutually exclusive', path: ['rules'] });
    const l7 = (e.access !== undefined && e.access !== 'full') || e.rules !== undefined || e.deny_rules !== undefined;
    if (l7 && e.protocol !== 'rest' && e.protocol !== 'websocket') {
      const key = e.rules !== undefined ? 'rules' : e.deny_rules !== undefined ? 'deny_rules' : 'access';
      ctx.addIssue({ code: 'custom', message: 'method/path rules need `protocol: rest` (requests are only visible when inspected)', path: [key] });
    }
    if (l7 && e.tls === 'skip') ctx.addIssue({ code: 'custom', message: '`tls: skip` hides requests, so method/path rules cannot apply', path: ['tls'] });
  });

export const binarySchema = z.strictObject({ path: absGlob.describe('absolute executable path; `*` and `**` globs allowed') });

export const networkPolicySchema = z
  .strictObject({
    name: z.string().optional(),
    // Ours: `deny` blocks the endpoints outright (what "deny always" approvals write), winning
    // over every allow; OpenShell has no connection-level deny.
    action: z.enum(['allow', 'deny']).optional().describe('default allow; `deny` blocks these endpoints for these binaries'),
    endpoints: z.array(endpointSchema).min(1),
    binaries: z.array(binarySchema).optional().describe('absent: any calling program'),
  })
  .superRefine((np, ctx) => {
    if (np.action !== 'deny') return;
    np.endpoints.forEach((e, i) => {
      for (const key of ['access', 'rules', 'deny_rules', 'allowed_ips'] as const) {
        if (e[key] !== undefined) ctx.addIssue({ code: 'custom', message: `\`${key}\` has no meaning in an \`action: deny\` entry`, path: ['endpoints', i, key] });
      }
    });
  });

export const networkPoliciesSchema = z.record(z.string().regex(NAME_RE, 'rule names use letters, digits, `_`, `.` and `-` (max 63)'), networkPolicySchema);

const userSpec = z.union([z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'not a user name'), z.number().int()]).superRefine((u, ctx) => {
  if (u === 'root' || u === 0) ctx.addIssue({ code: 'custom', message: 'the workload never runs as root' });
  else if (typeof u === 'number' && (u < 1 || u > 4294967294)) ctx.addIssue({ code: 'custom', message: 'uid must be in 1..4294967294' });
});

const syscallName = z.string().regex(/^[a-z0-9_]{1,40}$/, 'not a syscall name');

export const approvalsSchema = z.strictObject({
  unmatched_egress: z.enum(['ask', 'deny', 'audit']).optional().describe('verdict for egress no rule matches; default deny'),
  timeout: duration.optional().describe('how long an ask waits for the operator; default 60s'),
  on_timeout: z.enum(['deny']).optional().describe('unanswered asks always fail closed'),
});

export const policySchema = z
  .strictObject({
    version: z.literal(1),
    filesystem_policy: z
      .strictObject({
        include_workdir: z.boolean().optional(),
        read_only: z.array(absPath).optional(),
        read_write: z.array(absPath).optional(),
      })
      .optional(),
    landlock: z.strictObject({ compatibility: z.enum(['best_effort', 'hard_requirement']) }).optional(),
    process: z.strictObject({ run_as_user: userSpec.optional(), run_as_group: userSpec.optional() }).optional(),
    limits: z
      .strictObject({
        memory: size.optional(),
        pids: z.number().int().min(1).optional(),
        nofile: z.number().int().min(16).optional(),
        file_size: size.optional(),
        wall_time: duration.optional().describe('0: no limit'),
        cpu: z.union([z.number().positive(), z.string().regex(/^[0-9]+(?:\.[0-9]+)?%$/, 'cpu is a percentage of one core, e.g. 150%')]).optional(),
      })
      .optional(),
    exec: z
      .strictObject({
        allow: z.array(absGlob).optional().describe('empty: anything Landlock lets execute'),
        unmatched: z.enum(['allow', 'ask', 'deny']).optional(),
      })
      .optional(),
    syscalls: z.strictObject({ deny: z.array(syscallName).optional(), log: z.array(syscallName).optional() }).optional(),
    loopback: z.strictObject({ bind: z.array(port).optional(), connect: z.array(port).optional() }).optional(),
    network_policies: networkPoliciesSchema.optional(),
    approvals: approvalsSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const fs = p.filesystem_policy;
    const rw = fs?.read_write ?? [];
    rw.forEach((path, i) => {
      if (path === '/') ctx.addIssue({ code: 'custom', message: '`/` can never be writable', path: ['filesystem_policy', 'read_write', i] });
    });
    if ((fs?.read_only?.length ?? 0) + rw.length > MAX_PATHS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_PATHS} filesystem paths`, path: ['filesystem_policy'] });
    }
  });

export type Policy = z.output<typeof policySchema>;
export type NetworkPolicy = z.output<typeof networkPolicySchema>;
export type Endpoint = z.output<typeof endpointSchema>;
export type RestRule = z.output<typeof restRule>;

export const presetSchema = z.strictObject({
  preset: z.strictObject({ name: z.string().regex(NAME_RE), description: z.string().min(1) }),
  network_policies: networkPoliciesSchema,
});
export type Preset = z.output<typeof presetSchema>;
