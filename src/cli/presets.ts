// `nemoclaw policy presets [--json]`: the shipped presets, each parsed and validated by the policy
// engine (a broken one is an error naming its file, line and column). The build ran this engine
// over the shipped presets (scripts/engine-cache.mjs) and wrote what each one gave, keyed by its
// exact text, beside the engine script (dist/bundle/policy/presets.json): a preset whose text is
// there is the one the engine already read, so the listing needs neither the engine nor a cold
// YAML parse (~23 ms for 12 presets, issue 23). Any other text (an edited preset, a folder named
// by NEMOCLAW_BLUEPRINTS) and any error go through the engine (policy.ts), which answers as it
// always did. Run from the sources there is no such file: their engine may not be the build's.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { blueprintsDir } from '../policy/types.ts';
import { exitQuietlyOnEpipe, printJson, stdout } from './output.ts';

export interface PresetSummary {
  name: string;
  description: string;
}

/** The listing as both ways print it. */
export function printPresets(list: readonly PresetSummary[], opts: { json?: boolean }): void {
  if (opts.json) printJson(list.map(({ name, description }) => ({ name, description })));
  else for (const p of list) stdout.write(`${p.name.padEnd(18)} ${p.description}\n`);
}

/** `policy presets [--json]` as its commander action runs it; exported for the fast path too. */
export async function policyPresets(opts: { json?: boolean }): Promise<void> {
  const known = fromBuild();
  if (known === null) {
    await (await import('./policy.ts')).policyPresetsParsed(opts);
    return;
  }
  // A listing: `| head` ends it quietly with status 0 (output.ts).
  exitQuietlyOnEpipe();
  printPresets(known, opts);
}

/** Every preset in the folder the engine lists (blueprintsDir()/presets), if the build read each one's text. */
function fromBuild(): PresetSummary[] | null {
  let byText: Record<string, PresetSummary>;
  try {
    // The engine's folder in the bundle (scripts/policy-engine.mjs presetsMemoOf); this file's
    // URL is its per-file build's there (scripts/bundle.mjs pins it), src/cli/ from the sources.
    byText = JSON.parse(readFileSync(new URL('../bundle/policy/presets.json', import.meta.url), 'utf8')) as Record<string, PresetSummary>;
  } catch {
    return null;
  }
  const dir = join(blueprintsDir(), 'presets');
  const out: PresetSummary[] = [];
  try {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
      const text = readFileSync(join(dir, f), 'utf8');
      if (!Object.hasOwn(byText, text)) return null;
      out.push(byText[text] as PresetSummary);
    }
  } catch {
    return null;
  }
  return out;
}
