// The command table: one row per top-level verb, each implemented in its own file and loaded
// only when used, so that `nemoclaw sandbox run` does not pay for the TUI or the audit code.
import type { Command } from 'commander';

export interface CommandModule {
  /** Adds the verb (and its sub-verbs) to the program; `table` is this file's, for a verb that lists the others. */
  register(program: Command, table: CommandTable): void;
}

/**
 * The command table as main.ts hands it to a verb (completion's scripts list every verb): given,
 * not imported, so that no verb imports this file and it stays inside main.js in the bundle, one
 * file fewer for every command (issue 23).
 */
export interface CommandTable {
  commands: readonly CommandEntry[];
  sandboxVerbs: readonly string[];
}

export interface CommandEntry {
  name: string;
  summary: string;
  /**
   * The verb's module (a key of VERB_MODULES): what loadCommand() imports, and the key main.ts
   * gives freshness.ts, which checks only the sources of what the verb loads (as for FastVerb).
   */
  module: VerbModule;
  /** The module's export that registers the verb, when it is not `register`. */
  register?: 'registerCreate' | 'registerList' | 'registerEvents';
}

export const COMMANDS: readonly CommandEntry[] = [
  // One row per verb; each helper file exports `register`. Keep rows sorted by importance.
  { name: 'policy', summary: 'validate, explain, simulate, learn and revise sandbox policies', module: 'cli/policy' },
  { name: 'sandbox', summary: 'run a command in a kernel-enforced sandbox', module: 'cli/sandbox' },
  { name: 'approvals', summary: 'list and decide pending egress/exec approvals (needs `nemoclaw serve`)', module: 'cli/approvals' },
  { name: 'doctor', summary: 'check what this host offers the sandbox', module: 'cli/doctor' },
  { name: 'demo', summary: 'show an allowed and a denied action in real sandboxes', module: 'cli/demo' },
  { name: 'tui', summary: 'the terminal workstation: live feeds and keyboard approvals (--demo, --headless)', module: 'cli/tui' },
  { name: 'serve', summary: 'run the supervisor for this NEMOCLAW_HOME (--headless: NDJSON events/decisions)', module: 'cli/serve' },
  { name: 'onboard', summary: 'set up a sandbox step by step (blueprint, inference, presets, workspace)', module: 'cli/onboard' },
  { name: 'create', summary: 'create and start a long-running sandbox (needs `nemoclaw serve`)', module: 'cli/create', register: 'registerCreate' },
  { name: 'list', summary: 'sandboxes and their state', module: 'cli/sandboxes', register: 'registerList' },
  { name: 'events', summary: 'the supervisor event stream (--follow, --since SEQ)', module: 'cli/sandboxes', register: 'registerEvents' },
  { name: 'completion', summary: 'shell completions: nemoclaw completion bash|zsh', module: 'cli/completion' },
  { name: 'audit', summary: 'verify, tail and export the tamper-evident audit trail', module: 'cli/audit' },
  { name: 'providers', summary: 'model providers for inference.local, keys kept outside every sandbox', module: 'cli/providers' },
  { name: 'agents', summary: 'agents installed on this host for sandboxes to run: install, list, remove', module: 'cli/agents' },
  { name: 'inference', summary: "a sandbox's inference route: provider, model aliases, privacy mode", module: 'cli/inference' },
  { name: 'models', summary: 'local NIM and vLLM containers, registered as local providers when ready', module: 'cli/models' },
];

/** Verbs of `nemoclaw <sandbox-name> VERB` (src/cli/sandbox-verbs.ts); main.ts routes on them. */
export const SANDBOX_VERBS: readonly string[] = ['status', 'logs', 'connect', 'exec', 'stop', 'start', 'restart', 'destroy', 'pins', 'unpin', 'chat'];

/** What a fast-path verb is given: its flags keyed as commander keys them (camelCase), values as typed. */
export type FastFlags = Record<string, string | true>;

/** In FastVerb.words: a sandbox name, where main.ts routes `nemoclaw NAME VERB` to sandbox-verbs.ts. */
export const NAME = Symbol('sandbox name');

/**
 * The verbs' modules (the fast path's and commander's), keyed by their path under src/ without
 * the extension: the key main.ts gives freshness.ts, which checks only the sources of the code a
 * run will load (the build records each module's sources, scripts/bundle.mjs).
 */
const VERB_MODULES = {
  'cli/sandboxes': () => import('./sandboxes.ts'),
  'cli/chat': () => import('./chat.ts'),
  'cli/exec': () => import('./exec.ts'),
  'cli/approvals': () => import('./approvals.ts'),
  'cli/audit': () => import('./audit.ts'),
  'cli/policy': () => import('./policy.ts'),
  'cli/presets': () => import('./presets.ts'),
  'cli/sandbox': () => import('./sandbox.ts'),
  'cli/doctor': () => import('./doctor.ts'),
  'cli/demo': () => import('./demo.ts'),
  'cli/tui': () => import('./tui.ts'),
  'cli/serve': () => import('./serve.ts'),
  'cli/onboard': () => import('./onboard.ts'),
  'cli/create': () => import('./create.ts'),
  'cli/completion': () => import('./completion.ts'),
  'cli/providers': () => import('./providers.ts'),
  'cli/agents': () => import('./agents.ts'),
  'cli/inference': () => import('./inference.ts'),
  'cli/models': () => import('./models.ts'),
};
type VerbModule = keyof typeof VERB_MODULES;

/** A COMMANDS row's module, with the export that registers the verb under commander's `register`. */
export async function loadCommand(entry: CommandEntry): Promise<CommandModule> {
  const m = (await VERB_MODULES[entry.module]()) as unknown as Record<string, CommandModule['register']>;
  const register = m[entry.register ?? 'register'];
  if (register === undefined) throw new Error(`${entry.module} has no ${entry.register ?? 'register'}`);
  return { register };
}

/**
 * What commander is given for ARGS (the words after `nemoclaw`): the verb rows whose modules it
 * registers (`help VERB` is VERB's own help; none for --help, no verb or an unknown one, which
 * show the table's names and summaries), or the sandbox verbs for `nemoclaw NAME VERB`; and the
 * modules that loads, for freshness.ts.
 */
export function commanderPlan(args: readonly string[]): { sandboxVerbs: boolean; entries: readonly CommandEntry[]; modules: string[] } {
  const [verb, next] = args;
  const chosen = COMMANDS.filter((c) => c.name === verb);
  if (chosen.length === 0 && verb !== undefined && !verb.startsWith('-') && SANDBOX_VERBS.includes(next ?? '')) {
    return { sandboxVerbs: true, entries: [], modules: ['cli/sandbox-verbs'] };
  }
  const entries = chosen.length > 0 ? chosen : verb === 'help' ? COMMANDS.filter((c) => c.name === next) : [];
  return { sandboxVerbs: false, entries, modules: entries.map((e) => e.module) };
}
type Loaded<M extends VerbModule> = Awaited<ReturnType<(typeof VERB_MODULES)[M]>>;

/**
 * A plain shape of a verb that main.ts runs without commander, whose module and option set cost a
 * third of Node's own start-up (issue 23). `run` calls the same function the verb's commander
 * action calls, so the two ways differ only in who parsed argv; anything not exactly this shape
 * (help, an unknown or repeated flag, `--opt=value`, a value that looks like a flag) goes to
 * commander.
 */
interface FastVerbOf<M extends VerbModule> {
  /** The words after `nemoclaw`. */
  words: readonly (string | typeof NAME)[];
  /** Flags without a value: token -> key. */
  flags: Readonly<Record<string, string>>;
  /** Options taking the next word as their value: token -> key. */
  options: Readonly<Record<string, string>>;
  /** Commander's defaults for options not given. */
  defaults?: Readonly<Record<string, string>>;
  /**
   * The verb's arguments (commander's `<file>`, `<files...>`, `<command...>`): how many. Without
   * `afterDashDash` they are the words among the flags that do not start with `-`; with it, every
   * word after a `--` that ends the flags (`sandbox run -- CMD...`), and none before it.
   */
  operands?: { min: number; max: number; afterDashDash?: boolean };
  /** The module `run` is given, loaded only when this verb runs. */
  module: M;
  run(verbs: Loaded<M>, name: string, flags: FastFlags, operands: string[]): Promise<void>;
}
export type FastVerb = { [M in VerbModule]: FastVerbOf<M> }[VerbModule];

// Each row repeats its verb's options as the verb's register() declares them; the test in
// test/cli/fast-path.test.ts runs every shape both ways and compares stdout, stderr and exit status.
export const FAST_VERBS: readonly FastVerb[] = [
  { words: ['list'], flags: { '--json': 'json' }, options: {}, module: 'cli/sandboxes', run: (m, _, f) => m.listSandboxes(f) },
  {
    words: ['events'],
    flags: { '--follow': 'follow', '--json': 'json' },
    options: { '--since': 'since', '--sandbox': 'sandbox' },
    defaults: { since: '0' },
    module: 'cli/sandboxes',
    run: (m, _, f) => m.sandboxEvents(f as FastFlags & { since: string }),
  },
  { words: [NAME, 'status'], flags: { '--json': 'json' }, options: {}, module: 'cli/sandboxes', run: (m, name, f) => m.sandboxStatus(name, f) },
  {
    words: [NAME, 'logs'],
    flags: { '--follow': 'follow', '--json': 'json', '--raw': 'raw' },
    options: { '--since': 'since', '--tail': 'tail' },
    module: 'cli/sandboxes',
    run: (m, name, f) => m.sandboxLogs(name, f),
  },
  // A turn from a script (`nemoclaw NAME chat MESSAGE`); without a message it reads standard input: commander's.
  { words: [NAME, 'chat'], flags: { '--json': 'json', '--cancel': 'cancel' }, options: {}, operands: { min: 1, max: Infinity }, module: 'cli/chat', run: (m, name, f, words) => m.sandboxChat(name, words, f) },
  ...(['stop', 'start', 'restart'] as const).map(
    (verb): FastVerb => ({ words: [NAME, verb], flags: { '--json': 'json' }, options: {}, module: 'cli/sandboxes', run: (m, name, f) => m.sandboxLifecycle(name, verb, f) }),
  ),
  { words: [NAME, 'pins'], flags: { '--json': 'json' }, options: {}, module: 'cli/sandboxes', run: (m, name, f) => m.sandboxPins(name, f) },
  // What scripts run in a running sandbox, in loops: only the shape with `--` before the command.
  { words: [NAME, 'exec'], flags: { '--tty': 'tty' }, options: {}, operands: { min: 1, max: Infinity, afterDashDash: true }, module: 'cli/exec', run: (m, name, f, command) => m.sandboxExec(name, command, f) },
  { words: ['approvals', 'list'], flags: { '--json': 'json' }, options: { '--socket': 'socket' }, module: 'cli/approvals', run: (m, _, f) => m.listApprovals(f) },
  // Decisions from scripts and over SSH (the headless mode's other door).
  ...(['approve', 'deny'] as const).map(
    (word): FastVerb => ({
      words: ['approvals', word],
      flags: { '--always': 'always', '--json': 'json' },
      options: { '--socket': 'socket' },
      operands: { min: 1, max: 1 },
      module: 'cli/approvals',
      run: (m, _, f, [id]) => m.decideApproval(word === 'approve' ? 'allow' : 'deny', id as string, f),
    }),
  ),
  {
    words: ['audit', 'verify'],
    flags: { '--json': 'json' },
    options: { '--trusted-checkpoint': 'trustedCheckpoint', '--keys': 'keys' },
    module: 'cli/audit',
    run: (m, _, f) => m.auditVerify(f),
  },
  {
    words: ['audit', 'tail'],
    flags: { '--json': 'json', '-f': 'follow', '--follow': 'follow' },
    options: { '-n': 'lines', '--lines': 'lines' },
    defaults: { lines: '20' },
    module: 'cli/audit',
    run: (m, _, f) => m.auditTail(f as FastFlags & { lines: string }),
  },
  { words: ['audit', 'checkpoints'], flags: { '--json': 'json', '--last': 'last' }, options: {}, module: 'cli/audit', run: async (m, _, f) => m.auditCheckpoints(f) },
  { words: ['providers', 'list'], flags: { '--json': 'json' }, options: {}, module: 'cli/providers', run: (m, _, f) => m.providersList(f) },
  { words: ['agents', 'list'], flags: { '--json': 'json' }, options: {}, module: 'cli/agents', run: (m, _, f) => m.agentsList(f) },
  { words: ['models', 'list'], flags: { '--json': 'json' }, options: {}, module: 'cli/models', run: (m, _, f) => m.modelsList(f) },
  { words: ['policy', 'presets'], flags: { '--json': 'json' }, options: {}, module: 'cli/presets', run: (m, _, f) => m.policyPresets(f) },
  {
    words: ['policy', 'validate'],
    flags: { '--json': 'json' },
    options: { '--kind': 'kind' },
    defaults: { kind: 'auto' },
    operands: { min: 1, max: Infinity },
    module: 'cli/policy',
    run: (m, _, f, files) => m.policyValidate(files, f as FastFlags & { kind: string }),
  },
  { words: ['policy', 'explain'], flags: { '--json': 'json' }, options: {}, operands: { min: 1, max: 1 }, module: 'cli/policy', run: (m, _, f, [file]) => m.policyExplain(file as string, f) },
  {
    words: ['sandbox', 'run'],
    flags: { '--tty': 'tty', '--json': 'json', '--save-approvals': 'saveApprovals' },
    options: { '--policy': 'policy', '--blueprint': 'blueprint', '--workspace': 'workspace', '--events': 'events' },
    operands: { min: 1, max: Infinity, afterDashDash: true },
    module: 'cli/sandbox',
    run: async (m, _, f, command) => {
      process.exitCode = await m.sandboxRun(command, f);
    },
  },
];

/** Loads a fast-path verb's module and runs it. */
export async function runFast(verb: FastVerb, name: string, flags: FastFlags, operands: string[]): Promise<void> {
  const verbs = await VERB_MODULES[verb.module]();
  await (verb.run as (m: typeof verbs, ...rest: [string, FastFlags, string[]]) => Promise<void>)(verbs, name, flags, operands);
}

/**
 * A sandbox name main.ts would route to sandbox-verbs.ts and commander would take as a plain
 * command name: lower-case words only (commander reads `<`, `[` and spaces in a name as argument
 * syntax), and no verb of the table nor `help`. Other names go to commander.
 */
function routedName(word: string): boolean {
  return /^[a-z][a-z0-9-]*$/.test(word) && word !== 'help' && !COMMANDS.some((c) => c.name === word);
}

/** The fast-path verb these arguments (argv after `nemoclaw`) are exactly a plain shape of, if any. */
export function fastRoute(args: readonly string[]): { verb: FastVerb; name: string; flags: FastFlags; operands: string[] } | undefined {
  for (const verb of FAST_VERBS) {
    let name = '';
    const matches = args.length >= verb.words.length && verb.words.every((w, i) => (w === NAME ? routedName((name = args[i] ?? '')) : args[i] === w));
    if (!matches) continue;
    const flags: FastFlags = { ...verb.defaults };
    const operands: string[] = [];
    const seen = new Set<string>();
    for (let i = verb.words.length; i < args.length; i++) {
      const a = args[i] as string;
      if (a === '--') {
        if (verb.operands?.afterDashDash !== true) return undefined;
        operands.push(...args.slice(i + 1));
        break;
      }
      if (!a.startsWith('-')) {
        if (verb.operands === undefined || verb.operands.afterDashDash === true) return undefined;
        operands.push(a);
        continue;
      }
      const key = Object.hasOwn(verb.flags, a) ? verb.flags[a] : Object.hasOwn(verb.options, a) ? verb.options[a] : undefined;
      if (key === undefined || seen.has(key)) return undefined;
      seen.add(key);
      if (Object.hasOwn(verb.flags, a)) flags[key] = true;
      else {
        const value = args[++i];
        if (value === undefined || value.startsWith('-')) return undefined;
        flags[key] = value;
      }
    }
    if (operands.length < (verb.operands?.min ?? 0) || operands.length > (verb.operands?.max ?? 0)) return undefined;
    return { verb, name, flags, operands };
  }
  return undefined;
}
