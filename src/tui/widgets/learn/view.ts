// The learning proposal as lines (pure): what was read, what is proposed, then the diff against
// the current revision, coloured through the theme's semantic tokens. Hosts, paths and programs
// in it come from what a sandbox did: Frame/LineView make every line inert (src/tui/text).
import type { LearnMode } from './reducer.ts';
import { windowText } from './reducer.ts';
import { seg, type Line } from '../../text/line.ts';
import type { Token } from '../../theme/theme.ts';

function diffTone(l: string): Token {
  if (l.startsWith('+++') || l.startsWith('---')) return 'muted';
  if (l.startsWith('@@')) return 'info';
  if (l.startsWith('+')) return 'allow';
  if (l.startsWith('-')) return 'deny';
  return 'text';
}

/** Header lines (always shown) and the diff lines (scrolled). */
export function learnLines(m: LearnMode): { head: Line[]; body: Line[] } {
  const head: Line[] = [[seg('Learn ', 'accent', { bold: true }), seg(m.sandbox, 'text', { bold: true }), seg(` from the last ${windowText(m.minutes)}`, 'text')]];
  if (m.status === 'loading') return { head: [...head, [seg('reading the audit log…', 'muted')]], body: [] };
  if (m.status === 'error' || m.proposal === null) return { head: [...head, [seg(`cannot propose: ${m.error ?? 'no answer'}`, 'error')]], body: [] };
  const p = m.proposal;
  head.push([seg(`${p.read} decision${p.read === 1 ? '' : 's'} read against revision ${p.rev ?? '-'}`, 'muted'), ...(p.denied > 0 ? [seg(`; ${p.denied} denied (never proposed)`, 'muted')] : [])]);
  if (p.diff === '') return { head: [...head, [seg('nothing to learn: the current revision already allows what was recorded', 'info')]], body: [] };
  head.push([seg('proposed: ', 'muted'), seg([...p.destinations, ...p.exec.map((x) => `exec ${x}`)].join(', ') || 'settings only', 'warn', { bold: true })]);
  return { head, body: p.diff.replace(/\n$/, '').split('\n').map((l) => [seg(l, diffTone(l))]) };
}

export function learnFooter(m: LearnMode): Line {
  const k = (key: string, what: string): Line => [seg(key, 'accent', { bold: true }), seg(` ${what}   `)];
  const apply = m.status === 'ready' && m.proposal !== null && m.proposal.diff !== '' ? k('y', 'write revision') : [];
  return [...apply, ...k('n/Esc', 'dismiss'), ...k('+/-', 'window'), ...k('j/k', 'scroll')];
}
