// The command table: one row per top-level verb, each implemented in its own file and loaded
// only when used, so that `nemoclaw sandbox run` does not pay for the TUI or the audit code.
import type { Command } from 'commander';

export interface CommandModule {
  /** Adds the verb (and its sub-verbs) to the program. */
  register(program: Command): void;
}

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
  // One row per verb; each helper file exports `register`. Keep rows sorted by importance.
  { name: 'policy', summary: 'validate, explain, simulate, learn and revise sandbox policies', load: () => import('./policy.ts') },
  { name: 'sandbox', summary: 'run a command in a kernel-enforced sandbox', load: () => import('./sandbox.ts') },
  { name: 'approvals', summary: 'list and decide pending egress/exec approvals (needs `nemoclaw serve`)', load: () => import('./approvals.ts') },
  { name: 'doctor', summary: 'check what this host offers the sandbox', load: () => import('./doctor.ts') },
  { name: 'demo', summary: 'show an allowed and a denied action in real sandboxes', load: () => import('./demo.ts') },
  { name: 'tui', summary: 'the terminal workstation: live feeds and keyboard approvals (--demo, --headless)', load: () => import('./tui.ts') },
  { name: 'serve', summary: 'run the supervisor for this NEMOCLAW_HOME (--headless: NDJSON events/decisions)', load: () => import('./serve.ts') },
  { name: 'onboard', summary: 'set up a sandbox step by step (blueprint, inference, presets, workspace)', load: () => import('./onboard.ts') },
  { name: 'create', summary: 'create and start a long-running sandbox (needs `nemoclaw serve`)', load: () => import('./sandboxes.ts').then((m) => ({ register: m.registerCreate })) },
  { name: 'list', summary: 'sandboxes and their state', load: () => import('./sandboxes.ts').then((m) => ({ register: m.registerList })) },
  { name: 'events', summary: 'the supervisor event stream (--follow, --since SEQ)', load: () => import('./sandboxes.ts').then((m) => ({ register: m.registerEvents })) },
  { name: 'completion', summary: 'shell completions: nemoclaw completion bash|zsh', load: () => import('./completion.ts') },
  { name: 'audit', summary: 'verify, tail and export the tamper-evident audit trail', load: () => import('./audit.ts') },
  { name: 'providers', summary: 'model providers for inference.local, keys kept outside every sandbox', load: () => import('./providers.ts') },
  { name: 'agents', summary: 'agents installed on this host for sandboxes to run: install, list, remove', load: () => import('./agents.ts') },
  { name: 'inference', summary: "a sandbox's inference route: provider, model aliases, privacy mode", load: () => import('./inference.ts') },
  { name: 'models', summary: 'local NIM and vLLM containers, registered as local providers when ready', load: () => import('./models.ts') },
];

/** Verbs of `nemoclaw <sandbox-name> VERB` (src/cli/sandbox-verbs.ts); main.ts routes on them. */
export const SANDBOX_VERBS: readonly string[] = ['status', 'logs', 'connect', 'exec', 'stop', 'start', 'restart', 'destroy', 'pins', 'unpin', 'chat'];

/** What a fast-path verb is given: its flags keyed as commander keys them (camelCase), values as typed. */
export type FastFlags = Record<string, string | true>;

/** In FastVerb.words: a sandbox name, where main.ts routes `nemoclaw NAME VERB` to sandbox-verbs.ts. */
export const NAME = Symbol('sandbox name');

/**
 * A plain shape of a verb that main.ts runs without commander, whose module and option set cost a
 * third of Node's own start-up (issue 23). `run` is the same function the verb's commander action
 * calls, so the two ways differ only in who parsed argv; anything not exactly this shape (help, an
 * unknown or repeated flag, `--opt=value`, a value that looks like a flag) goes to commander.
 */
export interface FastVerb {
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
  run(name: string, flags: FastFlags, operands: string[]): Promise<void>;
}

// Each row repeats its verb's options as the verb's register() declares them; the test in
// test/cli/fast-path.test.ts runs every shape both ways and compares stdout, stderr and exit status.
export const FAST_VERBS: readonly FastVerb[] = [
  { words: ['list'], flags: { '--json': 'json' }, options: {}, run: async (_, f) => (await import('./sandboxes.ts')).listSandboxes(f) },
  { words: [NAME, 'status'], flags: { '--json': 'json' }, options: {}, run: async (name, f) => (await import('./sandboxes.ts')).sandboxStatus(name, f) },
  {
    words: [NAME, 'logs'],
    flags: { '--follow': 'follow', '--json': 'json', '--raw': 'raw' },
    options: { '--since': 'since', '--tail': 'tail' },
    run: async (name, f) => (await import('./sandboxes.ts')).sandboxLogs(name, f),
  },
  // A turn from a script (`nemoclaw NAME chat MESSAGE`); without a message it reads standard input: commander's.
  { words: [NAME, 'chat'], flags: { '--json': 'json', '--cancel': 'cancel' }, options: {}, operands: { min: 1, max: Infinity }, run: async (name, f, words) => (await import('./chat.ts')).sandboxChat(name, words, f) },
  { words: ['approvals', 'list'], flags: { '--json': 'json' }, options: { '--socket': 'socket' }, run: async (_, f) => (await import('./approvals.ts')).listApprovals(f) },
  {
    words: ['audit', 'verify'],
    flags: { '--json': 'json' },
    options: { '--trusted-checkpoint': 'trustedCheckpoint', '--keys': 'keys' },
    run: async (_, f) => (await import('./audit.ts')).auditVerify(f),
  },
  {
    words: ['audit', 'tail'],
    flags: { '--json': 'json', '-f': 'follow', '--follow': 'follow' },
    options: { '-n': 'lines', '--lines': 'lines' },
    defaults: { lines: '20' },
    run: async (_, f) => (await import('./audit.ts')).auditTail(f as FastFlags & { lines: string }),
  },
  {
    words: ['policy', 'validate'],
    flags: { '--json': 'json' },
    options: { '--kind': 'kind' },
    defaults: { kind: 'auto' },
    operands: { min: 1, max: Infinity },
    run: async (_, f, files) => (await import('./policy.ts')).policyValidate(files, f as FastFlags & { kind: string }),
  },
  { words: ['policy', 'explain'], flags: { '--json': 'json' }, options: {}, operands: { min: 1, max: 1 }, run: async (_, f, [file]) => (await import('./policy.ts')).policyExplain(file as string, f) },
  {
    words: ['sandbox', 'run'],
    flags: { '--tty': 'tty', '--json': 'json', '--save-approvals': 'saveApprovals' },
    options: { '--policy': 'policy', '--blueprint': 'blueprint', '--workspace': 'workspace', '--events': 'events' },
    operands: { min: 1, max: Infinity, afterDashDash: true },
    run: async (_, f, command) => {
      process.exitCode = await (await import('./sandbox.ts')).sandboxRun(command, f);
    },
  },
];

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
