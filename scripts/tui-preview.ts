// Dev preview of the TUI on the scripted demo workload (no supervisor needed).
//   node_modules/.bin/node scripts/tui-preview.ts [--theme NAME] [--layout NAME] [--fake-gpu] [--ascii]
//                                                 [--no-telemetry] [--speed N] [--approval-timeout S]
//                                                 [--crash-after-ms N] [--crash-on-sigusr2]
//   (both throw, to check the terminal is restored; tests send SIGUSR2 once the screen is drawn)
// --fake-gpu points GPU telemetry at test/tui/fixtures/fake-nvidia-smi (or set NEMOCLAW_NVIDIA_SMI).
// Components are plain .ts using React.createElement (src/tui/app/h.ts): Node 24 strips types from
// .ts files but does not run .tsx, and the CLI runs its sources without a build step.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { demoScript, exitCodeFor, LAYOUT_NAMES, runTui, ScriptedDataSource, type LayoutName } from '../src/tui/index.ts';

const { values } = parseArgs({
  options: {
    theme: { type: 'string' },
    layout: { type: 'string' },
    'fake-gpu': { type: 'boolean', default: false },
    ascii: { type: 'boolean', default: false },
    'no-telemetry': { type: 'boolean', default: false },
    speed: { type: 'string', default: '1' },
    'approval-timeout': { type: 'string', default: '300' },
    'crash-after-ms': { type: 'string' },
    'crash-on-sigusr2': { type: 'boolean', default: false },
  },
});

if (values.layout !== undefined && !(LAYOUT_NAMES as string[]).includes(values.layout)) {
  process.stderr.write(`tui-preview: unknown layout ${values.layout} (${LAYOUT_NAMES.join(', ')})\n`);
  process.exit(2);
}

const source = new ScriptedDataSource(demoScript({ approvalTimeoutS: Number(values['approval-timeout']) }), { speed: Number(values.speed) });
const fakeGpu = fileURLToPath(new URL('../test/tui/fixtures/fake-nvidia-smi', import.meta.url));

if (values['crash-after-ms'] !== undefined) {
  setTimeout(() => {
    throw new Error('simulated crash (--crash-after-ms)');
  }, Number(values['crash-after-ms']));
}
if (values['crash-on-sigusr2']) {
  process.once('SIGUSR2', () => {
    throw new Error('simulated crash (--crash-on-sigusr2)');
  });
}

const exit = await runTui({
  source,
  ...(values.theme !== undefined ? { theme: values.theme } : {}),
  ...(values.layout !== undefined ? { layout: values.layout as LayoutName } : {}),
  ascii: values.ascii,
  telemetry: values['no-telemetry'] ? false : values['fake-gpu'] ? { nvidiaSmi: fakeGpu } : true,
});
source.stop();
if (exit.reason === 'error') process.stderr.write(`tui-preview: ${exit.error instanceof Error ? (exit.error.stack ?? exit.error.message) : String(exit.error)}\n`);
process.exit(exitCodeFor(exit));
