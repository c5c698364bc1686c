// The `:` command bar: parse and run `:approve ID [always]`, `:deny ID [always]`, `:layout NAME`,
// `:theme NAME`, `:sandbox NAME|all`, `:filter TEXT`, `:pause`, `:help`, `:q`.
import { isLayoutName, LAYOUT_NAMES, type LayoutName } from '../layout/layout.ts';
import { ok, pushMode, say, type DispatchCtx, type Result, type UiState } from './types.ts';

export type Command =
  | { kind: 'decide'; verdict: 'allow' | 'deny'; id: string; always: boolean }
  | { kind: 'layout'; name: LayoutName }
  | { kind: 'theme'; name: string }
  | { kind: 'sandbox'; name: string | null }
  | { kind: 'pause' }
  | { kind: 'help' }
  | { kind: 'quit' };

export const COMMAND_HELP: readonly { usage: string; description: string }[] = [
  { usage: ':approve ID [always]', description: 'allow a pending action (once, or always after confirming)' },
  { usage: ':deny ID [always]', description: 'deny a pending action' },
  { usage: `:layout ${LAYOUT_NAMES.join('|')}`, description: 'switch layout preset' },
  { usage: ':theme NAME', description: 'switch theme (dark, light, high-contrast, ansi, no-colour)' },
  { usage: ':sandbox NAME|all', description: 'show one sandbox in Logs' },
  { usage: ':pause', description: 'pause or resume live updates' },
  { usage: ':q', description: 'quit' },
];

export function parseCommand(text: string): Command | { error: string } {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const [verb, ...args] = words;
  switch (verb) {
    case undefined:
      return { error: 'empty command' };
    case 'approve':
    case 'allow':
    case 'deny': {
      const id = args[0];
      if (id === undefined) return { error: `usage: :${verb} ID [always]` };
      const rest = args.slice(1);
      if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'always')) return { error: `usage: :${verb} ID [always]` };
      return { kind: 'decide', verdict: verb === 'deny' ? 'deny' : 'allow', id, always: rest[0] === 'always' };
    }
    case 'layout': {
      const name = args[0] ?? '';
      return isLayoutName(name) ? { kind: 'layout', name } : { error: `unknown layout "${name}" (${LAYOUT_NAMES.join(', ')})` };
    }
    case 'theme':
      return args[0] === undefined ? { error: 'usage: :theme NAME' } : { kind: 'theme', name: args[0] };
    case 'sandbox':
      return { kind: 'sandbox', name: args[0] === undefined || args[0] === 'all' ? null : args[0] };
    case 'pause':
      return { kind: 'pause' };
    case 'help':
      return { kind: 'help' };
    case 'q':
    case 'quit':
    case 'q!':
      return { kind: 'quit' };
    default:
      return { error: `unknown command :${verb}` };
  }
}

export function runCommand(state: UiState, ctx: DispatchCtx, text: string): Result {
  const cmd = parseCommand(text);
  if ('error' in cmd) return ok(say(state, cmd.error, 'error'));
  switch (cmd.kind) {
    case 'decide': {
      const p = ctx.pending.find((x) => x.id === cmd.id);
      if (p === undefined) return ok(say(state, `no pending approval ${cmd.id}`, 'error'));
      if (cmd.always) {
        const rule = p.alwaysRule?.[cmd.verdict] ?? `${cmd.verdict} ${p.summary} in ${p.sandbox}`;
        return ok(pushMode(state, { kind: 'confirm', action: { type: 'decide', id: p.id, verdict: cmd.verdict, always: true }, prompt: `${cmd.verdict === 'allow' ? 'Allow' : 'Deny'} ALWAYS ${p.id} (${p.summary})? This writes:`, detail: rule }));
      }
      return ok(say(state, `${cmd.verdict === 'allow' ? 'allowing' : 'denying'} ${p.id}: ${p.summary}`, 'ok'), [{ type: 'decide', id: p.id, verdict: cmd.verdict, always: false }]);
    }
    case 'layout':
      return ok(say({ ...state, layout: cmd.name, zoomed: null }, `layout ${cmd.name}`));
    case 'theme':
      if (!ctx.themes.includes(cmd.name)) return ok(say(state, `unknown theme "${cmd.name}" (${ctx.themes.join(', ')})`, 'error'));
      return ok(say({ ...state, theme: cmd.name }, `theme ${cmd.name}`));
    case 'sandbox':
      return ok(say({ ...state, sandbox: cmd.name }, cmd.name === null ? 'logs: all sandboxes' : `logs: ${cmd.name}`));
    case 'pause':
      return ok(say({ ...state, paused: !state.paused }, state.paused ? 'live' : 'paused'));
    case 'help':
      return ok(pushMode(state, { kind: 'help', scroll: 0 }));
    case 'quit':
      return ok(state, [{ type: 'quit' }]);
  }
}
