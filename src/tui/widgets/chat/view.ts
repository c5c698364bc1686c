import { seg, type Line } from '../../text/line.ts';
import { showTime } from '../common.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { chatSandbox, chatView, conversationLines } from './reducer.ts';

/** The conversation of the followed sandbox, newest at the bottom; the last row is the input line (ink-text-input draws over it while typing). */
export function chatBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const name = chatSandbox(snapshot, ui);
  if (name === null) return { lines: [[seg('No sandbox selected: pick one in Sandboxes (1), or create one from the openclaw blueprint.', 'muted')]] };
  const v = chatView(snapshot, name);
  const top = ui.modes[ui.modes.length - 1];
  const typing = top?.kind === 'chatInput';
  const back = ui.cursor.chat ?? 0;
  const lines: Line[] = conversationLines(v.entries, back, width, Math.max(0, height - 1), showTime(width));
  if (v.entries.length === 0 && height > 1) lines.push([seg(`No conversation with ${name} yet: i types a message.`, 'muted')]);
  // The conversation sits on the input line, newest last; an empty one starts at the top.
  while (lines.length < height - 1) {
    if (v.entries.length === 0) lines.push([]);
    else lines.unshift([]);
  }
  if (height > 0) lines.push(typing ? [seg('> ', 'accent', { bold: true })] : v.busy !== null ? [seg('answering… Ctrl-X cancels', 'warn'), seg(' · i type · k/j scroll', 'muted', { dim: true })] : [seg('i type · k/j scroll · Ctrl-X cancel', 'muted', { dim: true })]);
  const turns = v.entries.filter((e) => e.kind === 'user').length;
  return { lines, footer: `${name} · ${v.busy !== null ? 'answering' : `${turns} turn${turns === 1 ? '' : 's'}`}${back > 0 ? ` · ${back} back` : ''}` };
}
