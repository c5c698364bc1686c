// The "one public door" rule (eslint.config.js, nemoclaw/component-doors) fires on every way of
// reaching into another component's files, and stays quiet inside a component and for doors.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function doorErrors(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(root, file) });
  return (r?.messages ?? []).filter((m) => m.ruleId === 'nemoclaw/component-doors').map((m) => m.message);
}

describe('nemoclaw/component-doors', () => {
  it.each([
    ['static import', "import { readRecords } from '../audit/reader.ts';\nvoid readRecords;\n"],
    ['type import', "import type { Policy } from '../policy/schema.ts';\nexport type X = Policy;\n"],
    ['re-export', "export { shellWord } from '../state/quote.ts';\n"],
    ['export *', "export * from '../telemetry/host.ts';\n"],
    ['dynamic import', "export const m = () => import('../tui/source/index.ts');\n"],
    ['template-literal import', 'export const m = () => import(`../egress/proxy.ts`);\n'],
    ['a file deeper in the other component', "import { x } from '../tui/store/events.ts';\nvoid x;\n"],
  ])('refuses a %s of another component\'s file', async (_what, code) => {
    const errs = await doorErrors('src/cli/example.ts', code);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/reaches into src\/\w+\/.+: import src\/\w+\/index\.ts instead/);
  });

  it('refuses it from a nested file of a component too', async () => {
    expect(await doorErrors('src/tui/widgets/gpu/reducer.ts', "import type { HostMonitor } from '../../../telemetry/host.ts';\nexport type X = HostMonitor;\n")).toHaveLength(1);
  });

  it('allows doors, files of the own component, and packages', async () => {
    const code = [
      "import { openAuditLog } from '../audit/index.ts';",
      "import { x } from './output.ts';",
      "import { y } from '../cli/commands.ts';",
      "import { readFileSync } from 'node:fs';",
      "export const m = () => import('../tui/index.ts');",
      "export const c = () => import('../supervisor/client.ts'); // light doors (issue 23)",
      "export const t = () => import('../policy/types.ts');",
      'void openAuditLog; void x; void y; void readFileSync;',
      '',
    ].join('\n');
    expect(await doorErrors('src/cli/example.ts', code)).toEqual([]);
    expect(await doorErrors('src/tui/app/example.ts', "import { z } from '../layout/layout.ts';\nvoid z;\n")).toEqual([]);
  });

  it('leaves tests outside src/ alone (they may test a component from inside)', async () => {
    expect(await doorErrors('test/audit/example.test.ts', "import { readRecords } from '../../src/audit/reader.ts';\nvoid readRecords;\n")).toEqual([]);
  });
});
