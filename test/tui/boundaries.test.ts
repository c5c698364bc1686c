// The data layer must stay loadable without React or Ink: the supervisor and headless mode import
// the TuiEvent/TuiDataSource types and the store from it. (eslint's no-restricted-imports covers
// backend folders; src/tui/store is inside src/tui, so this test guards it.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('module boundaries', () => {
  for (const dir of ['tui/store', 'tui/layout', 'tui/input', 'tui/text', 'tui/theme', 'tui/charts', 'tui/widgets', 'telemetry']) {
    it(`src/${dir} never imports react, ink or the app`, () => {
      for (const f of files(join(src, dir))) {
        const text = readFileSync(f, 'utf8');
        expect(text, f).not.toMatch(/from ['"](react|ink|ink-text-input)['"]/);
        expect(text, f).not.toMatch(/from ['"][./]*app\//);
      }
    });
  }
});
