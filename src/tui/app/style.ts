// Theme tokens -> Ink <Text> props.
import type { Seg } from '../text/line.ts';
import type { Theme, Token } from '../theme/theme.ts';

export interface TextStyle {
  color?: string;
  backgroundColor?: string;
  bold?: boolean;
  inverse?: boolean;
  dimColor?: boolean;
}

export function tokenStyle(theme: Theme, tone: Token | undefined, extra: Omit<Seg, 'text' | 'tone'> = {}): TextStyle {
  const out: TextStyle = {};
  const color = tone === undefined ? theme.tokens.text : theme.tokens[tone];
  if (color !== null) out.color = color;
  if (extra.bold === true) out.bold = true;
  if (extra.inverse === true) out.inverse = true;
  // Dim only in colour themes; in no-colour it is the one cue muted text has, keep it there too.
  if (extra.dim === true || (tone === 'muted' && color === null)) out.dimColor = true;
  return out;
}
