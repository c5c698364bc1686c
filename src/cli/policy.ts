// `nemoclaw policy ...`: validate, explain, schema, simulate, learn, presets, and the revision verbs
// (get/set/add/remove/diff/rollback/history) on a sandbox's policy store. All logic lives in
// src/policy; this file parses arguments and prints.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import {
  blueprintPolicy,
  documentKind,
  explainPolicy,
  learn,
  listPresets,
  loadBlueprint,
  loadPreset,
  parsePolicy,
  parsePreset,
  policyJsonSchema,
  PolicyError,
  PolicyStore,
  renderDiagnostic,
  renderExplanation,
  simulate,
} from '../policy/index.ts';
import type { Diagnostic, NetworkPolicy, Policy } from '../policy/index.ts';
import { exitCodes, exitQuietlyOnEpipe, printJson, showOn, stderr, stdout, UsageError, writeOut } from './output.ts';
import { policyPresets, printPresets } from './presets.ts';

type Kind = 'policy' | 'preset' | 'blueprint';

// Synchronous: node:fs is loaded with Node itself, node:fs/promises would cost `policy validate`
// ~2.5 ms to load and first use (issue 23), and a verb reads its files one after the other anyway.
async function readText(file: string): Promise<string> {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError([{ file, line: 1, col: 1, message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, snippet: '' }], { cause: err });
  }
}

/** A policy from a policy file or a blueprint file (its composed policy). */
async function loadAnyPolicy(file: string): Promise<Policy> {
  const text = await readText(file);
  if (documentKind(text) === 'blueprint') return blueprintPolicy(await loadBlueprint(file.includes('/') ? file : `./${file}`));
  return parsePolicy(text, file);
}

/**
 * A diagnostic quotes the file's own line, and policy files, traces and event logs can be written
 * by a sandbox (its workspace): shown inert on a terminal, its message/snippet/caret lines kept.
 */
function diagnosticText(d: Diagnostic): string {
  return showOn(stderr)(renderDiagnostic(d), { newlines: true, tabs: 'keep' });
}

function reportErrors(err: unknown): number {
  if (err instanceof PolicyError) {
    for (const d of err.diagnostics) stderr.write(`${diagnosticText(d)}\n`);
    return exitCodes.failure;
  }
  if (err instanceof UsageError) throw err;
  stderr.write(`nemoclaw: ${showOn(stderr)(err instanceof Error ? err.message : String(err))}\n`);
  return exitCodes.failure;
}

/** Runs an action; maps policy errors to printed diagnostics and exit 1. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = (await fn(...args)) ?? exitCodes.ok;
    } catch (err) {
      code = reportErrors(err);
    }
    if (code !== exitCodes.ok) process.exitCode = code;
  };
}

// src/state only for the revision verbs: validate, explain and the rest do not load it (issue 23).
async function storeFor(sandbox: string | undefined): Promise<PolicyStore> {
  if (!sandbox) throw new UsageError('--sandbox NAME is required');
  const { NAME_RULE, homePaths, sandboxPaths, validName } = await import('../state/index.ts');
  // The supervisor's name rule and its layout (src/state): the revisions written here are the ones
  // the sandbox's supervisor reads and hot-reloads, and no name it would refuse gets a directory.
  if (!validName(sandbox)) throw new UsageError(`bad sandbox name ${JSON.stringify(sandbox)}: ${NAME_RULE}`);
  return new PolicyStore(sandboxPaths(homePaths(), sandbox).policy);
}

function author(opts: { author?: string }): string {
  if (opts.author) return opts.author;
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}

function revNumber(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`not a revision number: ${JSON.stringify(text)}`);
  return Number(text);
}

async function validateFile(file: string, kind: Kind | 'auto'): Promise<{ file: string; kind: Kind; ok: boolean; diagnostics: Diagnostic[] }> {
  let k: Kind = kind === 'auto' ? 'policy' : kind;
  try {
    const text = await readText(file);
    k = kind === 'auto' ? documentKind(text) : kind;
    if (k === 'policy') parsePolicy(text, file);
    else if (k === 'preset') parsePreset(text, file);
    else blueprintPolicy(await loadBlueprint(file.includes('/') ? file : `./${file}`));
    return { file, kind: k, ok: true, diagnostics: [] };
  } catch (err) {
    if (err instanceof PolicyError) return { file, kind: k, ok: false, diagnostics: err.diagnostics };
    return { file, kind: k, ok: false, diagnostics: [{ file, line: 1, col: 1, message: err instanceof Error ? err.message : String(err), snippet: '' }] };
  }
}

function parseKind(v: string): Kind | 'auto' {
  if (v === 'auto' || v === 'policy' || v === 'preset' || v === 'blueprint') return v;
  throw new UsageError(`--kind must be auto, policy, preset or blueprint (got ${JSON.stringify(v)})`);
}

/**
 * An action that only reads and prints: `policy presets | head` ends it quietly with status 0
 * when the reader goes away (output.ts). Not for the verbs that write a revision: `learn --apply`
 * prints its diff before writing, and a quiet 0 there would claim a revision never written.
 */
function reading<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  const run = action(fn);
  return (...args: A) => {
    exitQuietlyOnEpipe();
    return run(...args);
  };
}

/**
 * `policy validate FILES... [--kind K] [--json]` as its commander action runs it: exit status in
 * process.exitCode. Exported with policyExplain for a commander-free fast path (commands.ts
 * FAST_VERBS, issue 23), which would pass the same arguments commander does.
 */
export const policyValidate = reading(async (files: string[], opts: { kind: string; json?: boolean }) => {
  const kind = parseKind(opts.kind);
  const results = [];
  for (const f of files) results.push(await validateFile(f, kind));
  if (opts.json) printJson(results);
  else {
    for (const r of results) {
      if (r.ok) writeOut(`ok ${r.file} (${r.kind})\n`);
      else for (const d of r.diagnostics) stderr.write(`${diagnosticText(d)}\n`);
    }
  }
  return results.every((r) => r.ok) ? exitCodes.ok : exitCodes.failure;
});

/** `policy explain FILE [--json]` as its commander action runs it (see policyValidate). */
export const policyExplain = reading(async (file: string, opts: { json?: boolean }) => {
  const x = explainPolicy(await loadAnyPolicy(file));
  if (opts.json) printJson(x);
  else writeOut(renderExplanation(x));
});

/** `policy presets [--json]` with every preset parsed here (presets.ts says when). */
export const policyPresetsParsed = reading(async (opts: { json?: boolean }) => {
  printPresets(await listPresets(), opts);
});

export function register(program: Command): void {
  const policy = program.command('policy').description('validate, explain, simulate, learn and revise sandbox policies');

  policy
    .command('validate')
    .description('check policy, preset or blueprint files; exit 1 on any error')
    .argument('<files...>', 'YAML files')
    .option('--kind <kind>', 'auto | policy | preset | blueprint', 'auto')
    .option('--json', 'machine-readable result')
    .action(policyValidate);

  policy
    .command('explain')
    .description('plain-language summary: what it can read, write, execute, reach, and what is asked')
    .argument('<file>', 'policy or blueprint file')
    .option('--json')
    .action(policyExplain);

  policy
    .command('schema')
    .description('print the JSON Schema of policy files (for editors)')
    .option('--kind <kind>', 'policy | preset | blueprint', 'policy')
    .action(
      reading(async (opts: { kind: string }) => {
        const kind = parseKind(opts.kind);
        printJson(policyJsonSchema(kind === 'auto' ? 'policy' : kind));
      }),
    );

  policy
    .command('simulate')
    .description('evaluate a recorded trace against a policy without running anything')
    .requiredOption('--policy <file>', 'policy or blueprint file')
    .requiredOption('--trace <file>', 'JSON lines of egress/exec events')
    .option('--json')
    .option('--fail-on-block', 'exit 1 when any event is blocked')
    .action(
      reading(async (opts: { policy: string; trace: string; json?: boolean; failOnBlock?: boolean }) => {
        const p = await loadAnyPolicy(opts.policy);
        const sim = simulate(p, await readText(opts.trace));
        if (opts.json) printJson(sim);
        else {
          for (const r of sim.results) {
            const rule = r.rule ? ` [${r.rule}]` : '';
            // Summary and reason quote the trace's hosts, paths and binaries: what a sandbox did.
            const out = r.outcome === 'ERROR' ? stderr : stdout;
            const line = `${opts.trace}:${r.line}: ${r.outcome.padEnd(7)} ${r.summary}${rule} — ${r.reason}${r.inspect ? ' (inspected per request)' : ''}`;
            out.write(`${showOn(out)(line)}\n`);
          }
          const c = sim.counts;
          stdout.write(`${c.ALLOWED} allowed, ${c.BLOCKED} blocked, ${c.ASK} asked, ${c.AUDIT} audited, ${c.ERROR} unreadable${sim.ignored ? `, ${sim.ignored} other events skipped` : ''}\n`);
        }
        if (sim.counts.ERROR > 0) return exitCodes.failure;
        if (opts.failOnBlock && sim.counts.BLOCKED > 0) return exitCodes.failure;
        return exitCodes.ok;
      }),
    );

  policy
    .command('learn')
    .description('propose the smallest policy that would have allowed what a sandbox did (its audit records, or an events file)')
    .option('--sandbox <name>', "learn from this sandbox's records in the audit log, on top of its current revision")
    .option('--since <time|seq>', 'audit records from this time (10m, 2h, RFC 3339) or sequence number on')
    .option('--events <file>', 'JSON lines instead (- for stdin): trace events, `audit export --format jsonl`, `events --json` or `sandbox run --events` output')
    .option('--base <file>', 'start from this policy instead of the current revision (or the default policy)')
    .option('--unmatched <verdict>', 'approvals.unmatched_egress of the proposal: ask | deny | audit (default: keep the base\'s)')
    .option('-o, --output <file>', 'write the proposed policy here instead of stdout')
    .option('--apply', "write the proposal as the sandbox's next revision, after showing the diff and asking")
    .option('--yes', 'with --apply: do not ask (scripts)')
    .option('--json')
    .action(
      action(async (opts: { events?: string; sandbox?: string; since?: string; base?: string; unmatched?: string; output?: string; apply?: boolean; yes?: boolean; json?: boolean }) => {
        // Without --apply it only reads and prints (see reading()).
        if (!opts.apply) exitQuietlyOnEpipe();
        const { learnSource, learnBase, proposalDiff, summaryLine, confirm } = await import('./policy-learn.ts');
        const unmatched = opts.unmatched;
        if (unmatched !== undefined && unmatched !== 'ask' && unmatched !== 'deny' && unmatched !== 'audit') throw new UsageError('--unmatched must be ask, deny or audit');
        if (opts.apply && opts.sandbox === undefined) throw new UsageError('--apply needs --sandbox NAME');
        if (opts.sandbox !== undefined) await storeFor(opts.sandbox); // the name rule, before anything is read
        const src = await learnSource(opts);
        const base = await learnBase(opts, loadAnyPolicy, storeFor);
        const { existsSync } = await import('node:fs');
        const res = learn(src.lines, base.policy, { ...(base.text !== undefined ? { baseText: base.text } : {}), ...(opts.sandbox !== undefined ? { sandbox: opts.sandbox } : {}), ...(unmatched !== undefined ? { unmatched } : {}), execExists: (p) => existsSync(p) });
        // The events (hosts, paths, binaries) were produced by a sandbox: on a terminal the
        // proposed YAML, the diff and the skipped lines are shown inert; -o and pipes get the exact YAML.
        const errShow = showOn(stderr);
        for (const s of res.skipped) stderr.write(`${errShow(`${src.label}:${s.line}: skipped: ${s.error}`)}\n`);
        if (opts.output) await writeFile(opts.output, res.yaml);
        if (!opts.apply) {
          if (opts.json) printJson({ rules: res.rules, exec: res.exec, execNotFound: res.execNotFound, alreadyAllowed: res.alreadyAllowed, denied: res.denied, read: res.read, skipped: res.skipped, ...(src.lastSeq !== undefined ? { lastSeq: src.lastSeq } : {}), policy: res.policy });
          else {
            if (!opts.output) stdout.write(showOn(stdout)(res.yaml, { newlines: true, tabs: 'keep' }));
            stderr.write(`${errShow(summaryLine(src, res))}\n`);
          }
          return exitCodes.ok;
        }
        const store = await storeFor(opts.sandbox);
        const diff = proposalDiff(base.currentText, res, base.rev);
        const changed = base.currentText !== res.yaml;
        if (!opts.json) {
          stdout.write(showOn(stdout)(diff, { newlines: true, tabs: 'keep' }));
          stderr.write(`${errShow(summaryLine(src, res))}\n`);
        }
        if (!changed || (res.rules.length === 0 && res.exec.length === 0 && unmatched === undefined)) {
          if (opts.json) printJson({ applied: false, reason: 'nothing to learn', rules: res.rules, exec: res.exec });
          else stdout.write('nothing to learn: the current policy already allows what was recorded\n');
          return exitCodes.ok;
        }
        if (!opts.yes) {
          if (!process.stdin.isTTY) {
            stderr.write('nemoclaw: nothing written; review the diff and re-run with --yes (or on a terminal, to be asked)\n');
            return exitCodes.failure;
          }
          if (!(await confirm(`write this as revision ${(base.rev ?? 0) + 1} of ${opts.sandbox}? [y/N] `))) {
            stderr.write('nemoclaw: nothing written\n');
            return exitCodes.failure;
          }
        }
        const reason = `learned from ${src.label}: ${res.rules.map((r) => `${r.host}:${r.port}`).join(', ') || 'no destinations'}${res.exec.length ? `; exec ${res.exec.map((x) => x.path).join(', ')}` : ''}`;
        // Only on top of the revision the diff was shown against (another writer may have been faster).
        const w = await store.set(res.yaml, { author: author({}), reason, source: 'learn', confirm: false, ifRev: base.rev ?? 0 });
        if (opts.json) printJson({ applied: w.applied, dropped: w.dropped, staticChanged: w.staticChanged, meta: w.meta, rules: res.rules, exec: res.exec });
        else if (!w.applied) stderr.write(`nemoclaw: nothing written: the proposal would drop ${w.dropped.join(', ')} (a --base that omits them?)\n`);
        else {
          stdout.write(`revision ${w.meta?.rev} written\n`);
          if (w.staticChanged.length > 0) stdout.write(`changed ${w.staticChanged.join(', ')}: takes effect when the sandbox is next created (network rules and approvals apply now)\n`);
        }
        return w.applied ? exitCodes.ok : exitCodes.failure;
      }),
    );

  policy
    .command('presets')
    .description('list the shipped presets')
    .option('--json')
    .action(policyPresets);

  // ------------------------------------------------------------------ revision verbs
  const sandboxOpt = (c: Command) => c.option('--sandbox <name>', 'sandbox whose policy to use');
  const changeOpts = (c: Command) => c.option('--author <name>', 'recorded author (default: current user)').option('--reason <text>', 'recorded reason');

  sandboxOpt(policy.command('get').description('print the current (or a given) revision'))
    .option('--rev <n>', 'revision number')
    .option('--json')
    .action(
      reading(async (opts: { sandbox?: string; rev?: string; json?: boolean }) => {
        const store = await storeFor(opts.sandbox);
        const r = await store.get(opts.rev === undefined ? undefined : revNumber(opts.rev));
        if (!r) {
          stderr.write(`nemoclaw: no policy revision${opts.rev ? ` ${opts.rev}` : ''} for sandbox ${opts.sandbox}\n`);
          return exitCodes.failure;
        }
        if (opts.json) printJson({ meta: r.meta, policy: r.policy });
        // A revision can hold what "always" answers wrote: a workload's binary path, its host.
        else stdout.write(showOn(stdout)(r.text, { newlines: true, tabs: 'keep' }));
      }),
    );

  changeOpts(sandboxOpt(policy.command('set').description('replace the policy (lists what it drops; needs --yes to drop anything)')))
    .argument('<file>', 'policy or blueprint file')
    .option('--yes', 'confirm dropping rules')
    .option('--json')
    .action(
      action(async (file: string, opts: { sandbox?: string; yes?: boolean; json?: boolean; author?: string; reason?: string }) => {
        const store = await storeFor(opts.sandbox);
        const text = await readText(file);
        let body = text;
        let source: string | undefined;
        if (documentKind(text) === 'blueprint') {
          // A blueprint's composed policy is stored, with the blueprint's digest as the source.
          const bp = await loadBlueprint(file.includes('/') ? file : `./${file}`);
          const { stringify } = await import('yaml');
          body = `# from blueprint ${bp.spec.name} ${bp.spec.version} sha256:${bp.digest}\n${stringify(blueprintPolicy(bp), { lineWidth: 0 })}`;
          source = `blueprint:${bp.spec.name}@sha256:${bp.digest}`;
        } else parsePolicy(text, file);
        const res = await store.set(body, { author: author(opts), reason: opts.reason ?? `set from ${file}`, confirm: opts.yes === true, ...(source ? { source } : {}) });
        if (opts.json) printJson(res);
        else {
          if (res.dropped.length > 0) {
            stdout.write(`${res.applied ? 'dropped' : 'would drop'}:\n${res.dropped.map((d) => `  - ${d}`).join('\n')}\n`);
          }
          if (res.applied) stdout.write(`revision ${res.meta?.rev} written\n`);
          if (res.applied && res.staticChanged.length > 0) {
            stdout.write(`changed ${res.staticChanged.join(', ')}: takes effect when the sandbox is next created (network rules and approvals apply now)\n`);
          }
          else stderr.write('nemoclaw: nothing written; re-run with --yes to drop the rules above\n');
        }
        return res.applied ? exitCodes.ok : exitCodes.failure;
      }),
    );

  changeOpts(sandboxOpt(policy.command('add').description('merge presets, fragment files or one rule into the policy')))
    .argument('[presets...]', 'preset names, preset files, or policy files (their network rules)')
    .option('--name <rule>', 'name of a single rule to add')
    .option('--host <host>', 'host of the single rule')
    .option('--port <port>', 'port of the single rule', '443')
    .option('--binary <path>', 'calling program of the single rule (glob)')
    .option('--access <access>', 'read-only | read-write | full (read-only/read-write inspect requests)')
    .option('--deny', 'make the single rule a deny rule')
    .option('--json')
    .action(
      action(
        async (
          presets: string[],
          opts: { sandbox?: string; name?: string; host?: string; port: string; binary?: string; access?: string; deny?: boolean; json?: boolean; author?: string; reason?: string },
        ) => {
          const store = await storeFor(opts.sandbox);
          const fragment: Record<string, NetworkPolicy> = {};
          const names: string[] = [];
          for (const p of presets) {
            const isFile = p.includes('/') || p.endsWith('.yaml');
            if (isFile && documentKind(await readText(p)) === 'policy') {
              // A policy file: its network rules are the fragment.
              const rules = parsePolicy(await readText(p), p).network_policies ?? {};
              names.push(...Object.keys(rules));
              Object.assign(fragment, rules);
              continue;
            }
            const preset = await loadPreset(p);
            names.push(preset.preset.name);
            Object.assign(fragment, preset.network_policies);
          }
          if (opts.host !== undefined) {
            if (!/^[0-9]+$/.test(opts.port)) throw new UsageError('--port must be a number');
            const name = opts.name ?? `rule_${opts.host.replace(/[^A-Za-z0-9]+/g, '_')}_${opts.port}`;
            const access = opts.access;
            if (access !== undefined && access !== 'read-only' && access !== 'read-write' && access !== 'full') throw new UsageError('--access must be read-only, read-write or full');
            const endpoint: NetworkPolicy['endpoints'][number] = { host: opts.host, port: Number(opts.port) };
            if (access === 'read-only' || access === 'read-write') Object.assign(endpoint, { protocol: 'rest', access });
            const rule: NetworkPolicy = { ...(opts.deny ? { action: 'deny' as const } : {}), endpoints: [endpoint], ...(opts.binary ? { binaries: [{ path: opts.binary }] } : {}) };
            // Validate the single rule as a policy so errors come out positioned and worded like a file's.
            const { stringify } = await import('yaml');
            parsePolicy(stringify({ version: 1, network_policies: { [name]: rule } }), '<command line rule>');
            fragment[name] = rule;
            names.push(name);
          }
          if (names.length === 0) throw new UsageError('name at least one preset, or a rule with --host');
          const res = await store.add(fragment, { author: author(opts), reason: opts.reason ?? `add ${names.join(', ')}`, source: presets.length ? `preset:${presets.join(',')}` : 'cli' });
          if (opts.json) printJson(res);
          else if (res.meta) stdout.write(`added ${res.added.join(', ')}; revision ${res.meta.rev} written\n`);
          else stdout.write(`nothing to add (${res.unchanged.join(', ')} already present)\n`);
        },
      ),
    );

  changeOpts(sandboxOpt(policy.command('remove').description('remove rules (by rule name or preset name)')))
    .argument('<names...>', 'rule names or preset names')
    .option('--json')
    .action(
      action(async (names: string[], opts: { sandbox?: string; json?: boolean; author?: string; reason?: string }) => {
        const store = await storeFor(opts.sandbox);
        const cur = await store.get();
        const targets: string[] = [];
        for (const n of names) {
          if (cur?.policy.network_policies?.[n] !== undefined) targets.push(n);
          else {
            // Not a rule name: maybe a preset, whose rules are removed.
            const preset = await loadPreset(n).catch(() => null);
            if (preset) targets.push(...Object.keys(preset.network_policies));
            else targets.push(n);
          }
        }
        const res = await store.remove(targets, { author: author(opts), reason: opts.reason ?? `remove ${names.join(', ')}` });
        if (opts.json) printJson(res);
        else {
          if (res.missing.length) stderr.write(`nemoclaw: not in the policy: ${res.missing.join(', ')}\n`);
          if (res.meta) stdout.write(`removed ${res.removed.join(', ')}; revision ${res.meta.rev} written\n`);
        }
        return res.removed.length > 0 ? exitCodes.ok : exitCodes.failure;
      }),
    );

  sandboxOpt(policy.command('diff').description('unified diff between two revisions (default: previous and current)'))
    .argument('[from]', 'revision number')
    .argument('[to]', 'revision number (default: current)')
    .action(
      reading(async (from: string | undefined, to: string | undefined, opts: { sandbox?: string }) => {
        const store = await storeFor(opts.sandbox);
        let a: number;
        if (from === undefined) {
          const h = await store.history();
          if (h.length < 2) {
            stdout.write('fewer than two revisions: nothing to compare\n');
            return exitCodes.ok;
          }
          a = (h[h.length - 2] as { rev: number }).rev;
        } else a = revNumber(from);
        stdout.write(showOn(stdout)(await store.diff(a, to === undefined ? undefined : revNumber(to)), { newlines: true, tabs: 'keep' }));
      }),
    );

  changeOpts(sandboxOpt(policy.command('rollback').description('make an earlier revision current again (as a new revision)')))
    .argument('<rev>', 'revision number')
    .option('--json')
    .action(
      action(async (rev: string, opts: { sandbox?: string; json?: boolean; author?: string; reason?: string }) => {
        const store = await storeFor(opts.sandbox);
        const meta = await store.rollback(revNumber(rev), { author: author(opts), ...(opts.reason ? { reason: opts.reason } : {}) });
        if (opts.json) printJson(meta);
        else stdout.write(`revision ${meta.rev} written (same text as revision ${rev})\n`);
      }),
    );

  sandboxOpt(policy.command('history').description('list revisions with author, time and reason'))
    .option('--json')
    .action(
      reading(async (opts: { sandbox?: string; json?: boolean }) => {
        const h = await (await storeFor(opts.sandbox)).history();
        if (opts.json) printJson(h);
        else {
          // Reasons name the entry an "always" answer wrote (a workload's binary, a host): one inert line each.
          const show = showOn(stdout);
          for (const m of h) stdout.write(`${String(m.rev).padStart(4)}  ${m.time}  ${show(m.author.padEnd(12))} ${show(m.reason)}${m.source ? ` (${show(m.source)})` : ''}\n`);
        }
      }),
    );
}
