// The Agent chat pane's input line: ink-text-input over the pane's last row while the chatInput
// mode is on top. Typing is the component's; Enter, Esc and Ctrl-X are the dispatcher's (the
// keymap rows in src/tui/widgets/chat/keys.ts), which sees the same keys.
import { Box } from 'ink';
import TextInput from 'ink-text-input';
import type { Rect } from '../layout/layout.ts';
import { h } from './h.ts';

export interface ChatInputProps {
  rect: Rect;
  value: string;
  /** The text after a keystroke; Ctrl-keys are filtered out by the caller (ink-text-input types Ctrl-X as "x"). */
  onChange: (value: string) => void;
}

export function ChatInput({ rect, value, onChange }: ChatInputProps) {
  const width = Math.max(1, rect.width - 4);
  return h(
    Box,
    // One row: a long message (or the placeholder on a narrow pane) must not wrap onto the border.
    { position: 'absolute', top: rect.y + rect.height - 2, left: rect.x + 3, width, height: 1, overflow: 'hidden' },
    h(TextInput, { value, onChange, focus: true, showCursor: true, placeholder: 'type a message, Enter sends' }),
  );
}
