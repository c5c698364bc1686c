// Themes: JSON files in <repo>/themes with semantic tokens. A token's value is an ANSI colour name
// (the terminal's palette), a #rrggbb hex (chalk downsamples it to 256 or 16 colours when the
// terminal has no truecolor), or null (the terminal's default colour). NO_COLOR selects the
// no-colour theme unless a theme was asked for explicitly.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const TOKENS = [
  'text',
  'muted',
  'accent',
  'border',
  'borderFocus',
  'title',
  'titleFocus',
  'ok',
  'warn',
  'error',
  'info',
  'allow',
  'deny',
  'chart',
  'chartAlt',
  'statusFg',
  'statusBg',
] as const;
export type Token = (typeof TOKENS)[number];

export interface Theme {
  name: string;
  description: string;
  tokens: Readonly<Record<Token, string | null>>;
}

export const DEFAULT_THEME = 'ansi';
export const NO_COLOUR_THEME = 'no-colour';

const ANSI_NAMES = new Set([
  'black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white', 'gray', 'grey',
  'blackBright', 'redBright', 'greenBright', 'yellowBright', 'blueBright', 'magentaBright', 'cyanBright', 'whiteBright',
]);

export const themesDir = fileURLToPath(new URL('../../../themes/', import.meta.url));

/** Validate a parsed theme file; throws with the file name and the offending token. */
export function parseTheme(data: unknown, source: string): Theme {
  if (typeof data !== 'object' || data === null) throw new Error(`${source}: theme must be an object`);
  const o = data as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || o['name'] === '') throw new Error(`${source}: "name" must be a non-empty string`);
  const tokens = o['tokens'];
  if (typeof tokens !== 'object' || tokens === null) throw new Error(`${source}: "tokens" must be an object`);
  const t = tokens as Record<string, unknown>;
  const out = {} as Record<Token, string | null>;
  for (const k of Object.keys(t)) if (!(TOKENS as readonly string[]).includes(k)) throw new Error(`${source}: unknown token "${k}"`);
  for (const k of TOKENS) {
    const v = t[k];
    if (v === undefined) throw new Error(`${source}: missing token "${k}"`);
    if (v !== null && (typeof v !== 'string' || !(ANSI_NAMES.has(v) || /^#[0-9a-fA-F]{6}$/.test(v)))) {
      throw new Error(`${source}: token "${k}" must be null, an ANSI colour name or #rrggbb, got ${JSON.stringify(v)}`);
    }
    out[k] = v as string | null;
  }
  return { name: o['name'], description: typeof o['description'] === 'string' ? o['description'] : '', tokens: Object.freeze(out) };
}

/** Read every themes/*.json (at start-up, not on the render path). */
export function loadThemes(dir: string = themesDir): Map<string, Theme> {
  const out = new Map<string, Theme>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const path = join(dir, file);
    const theme = parseTheme(JSON.parse(readFileSync(path, 'utf8')) as unknown, path);
    out.set(theme.name, theme);
  }
  return out;
}

/** The no-colour theme, built in so the TUI can always draw even if themes/ is unreadable. */
export const builtinNoColour: Theme = {
  name: NO_COLOUR_THEME,
  description: 'No colours at all',
  tokens: Object.freeze(Object.fromEntries(TOKENS.map((k) => [k, null])) as Record<Token, string | null>),
};

/**
 * Which theme to start with: an explicit request wins (per no-color.org, explicit configuration
 * overrides NO_COLOR), then NO_COLOR (any non-empty value), then the default.
 */
export function chooseThemeName(requested: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (requested !== undefined && requested !== '') return requested;
  if ((env['NO_COLOR'] ?? '') !== '') return NO_COLOUR_THEME;
  return DEFAULT_THEME;
}
