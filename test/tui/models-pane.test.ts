// The Models pane (src/tui/widgets/models): rows and their columns from the store, the GPU join
// through process owners, the engine-down line, the log overlay (inert), and the keys: l/Enter,
// r and s ask y/n and only y sends the effect. Pure (store + dispatcher); the real engine and a
// real PTY are in test/models/models-tui.test.ts.
import { describe, expect, it } from 'vitest';
import { dispatch } from '../../src/tui/input/dispatcher.ts';
import type { DispatchCtx, UiState } from '../../src/tui/input/types.ts';
import { initialUiState } from '../../src/tui/input/ui-state.ts';
import type { ModelRow, TuiEvent } from '../../src/tui/store/events.ts';
import { TuiStore, type TuiSnapshot } from '../../src/tui/store/tui-store.ts';
import { lineText } from '../../src/tui/text/line.ts';
import { modelGpu, modelLogsArrived, modelRows, modelsPaneShown } from '../../src/tui/widgets/models/reducer.ts';
import { modelLogsLines, modelsBody } from '../../src/tui/widgets/models/view.ts';
import { gpuBody } from '../../src/tui/widgets/gpu/view.ts';

const NOW = 1_700_000_000_000;
const U0 = 'GPU-5c3f9a0e-1b2d-4e8f-9a7b-0c1d2e3f4a5b';
const U1 = 'GPU-9e8d7c6b-5a49-4838-b2a1-f0e9d8c7b6a5';

function row(over: Partial<ModelRow>): ModelRow {
  return { name: 'm', engine: 'vllm', image: 'img:1', model: 'qwen', port: 8000, state: 'running', exitCode: null, restartCount: 0, startedAt: NOW - 125_000, ready: true, registered: true, containerId: 'abcdef012345', cpuPercent: 12.4, memoryBytes: 512 * 1024 * 1024, memoryLimitBytes: 8e9, recentLogs: [], ...over };
}

function snap(events: TuiEvent[]): TuiSnapshot {
  const s = new TuiStore();
  s.ingestMany(events);
  s.flush();
  return s.getSnapshot();
}

const models: ModelRow[] = [
  row({ name: 'vllm-a', port: 8101, recentLogs: ['INFO: started', 'evil \u001b]52;c;AAAA\u0007 bell'] }),
  row({ name: 'nim-b', engine: 'nim', port: 8102, ready: false, cpuPercent: null, memoryBytes: null }),
  row({ name: 'old', state: 'exited', exitCode: 137, startedAt: null, ready: null, cpuPercent: null, memoryBytes: null }),
];
const gpuEvents: TuiEvent[] = [
  { type: 'gpu_sample', ts: NOW, gpus: [{ index: 0, uuid: U0, name: 'NVIDIA H100', utilization: 81, memoryUsed: 40000, memoryTotal: 81559, temperature: 60, powerDraw: 500, ts: NOW }, { index: 1, uuid: U1, name: 'NVIDIA H100', utilization: 7, memoryUsed: 1000, memoryTotal: 81559, temperature: 40, powerDraw: 90, ts: NOW }] },
  {
    type: 'gpu_processes',
    ts: NOW,
    processes: [
      { pid: 101, name: 'python3', usedMemory: 30720, gpuUuid: U0, owner: { kind: 'model', name: 'vllm-a' } },
      { pid: 102, name: 'python3', usedMemory: 2048, gpuUuid: U1, owner: { kind: 'model', name: 'vllm-a' } },
      { pid: 103, name: 'train', usedMemory: 1024, gpuUuid: U1, owner: { kind: 'sandbox', name: 'agent' } },
      { pid: 104, name: 'Xorg', usedMemory: 64, gpuUuid: U1, owner: { kind: 'host' } },
    ],
  },
];
const snapshot = snap([{ type: 'models', ts: NOW, status: { state: 'ok' }, models }, ...gpuEvents]);
const ui: UiState = { ...initialUiState({ theme: 'ansi' }), focus: 'models' };

function ctx(s: TuiSnapshot = snapshot, u: UiState = ui): DispatchCtx {
  return { pending: [], rowCounts: { models: modelRows(s, u).length }, visible: ['models'], themes: ['ansi'], sandboxes: [], models: modelRows(s, u).map((m) => m.name), pageSize: 5 };
}

function text(body: { lines: { text: string }[][] }): string {
  return body.lines.map((l) => lineText(l)).join('\n');
}

describe('Models pane view', () => {
  it('one row per model: state, readiness, engine, port, uptime, CPU, memory, GPU memory and utilisation', () => {
    const out = text(modelsBody({ snapshot, ui, width: 120, height: 12, now: NOW, focused: true }));
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^NAME +STATE +READY ENGINE +PORT +UP +CPU +MEM +GPU MEM UTIL IMAGE/);
    const a = lines.find((l) => l.startsWith('vllm-a'))!;
    // 30 GiB + 2 GiB on two GPUs; the busier GPU's utilisation.
    expect(a).toMatch(/vllm-a +running +ready +vllm +8101 +2m05s +12% +512M +32\.0G +81% img:1/);
    expect(lines.find((l) => l.startsWith('nim-b'))).toMatch(/nim-b +running +wait +nim +8102 +2m05s +- +- +- +- img:1/);
    expect(lines.find((l) => l.startsWith('old'))).toMatch(/old +exited 137 -/);
    // The selected model's last lines, inert: the OSC 52 sequence and the bell are not passed through.
    expect(out).toContain('vllm-a: last lines');
    expect(out).toContain('INFO: started');
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('\u0007');
  });

  const statusCases: [string, TuiEvent | null, RegExp][] = [
    ['not loaded yet', null, /asking the Docker engine for models/],
    ['engine down, retrying', { type: 'models', ts: NOW, status: { state: 'down', reason: 'the Docker engine does not answer on /var/run/docker.sock (ENOENT): start it …; nemoclaw doctor (docker engine row)', attempts: 2, retrying: true }, models: [] }, /^Docker engine down: the Docker engine does not answer on \/var\/run\/docker\.sock \(ENOENT\).*doctor.*\nretrying \(2 tried\)/],
    ['engine down, given up', { type: 'models', ts: NOW, status: { state: 'down', reason: 'x', attempts: 40, retrying: false }, models: [] }, /gave up after 40 tries/],
    ['no models', { type: 'models', ts: NOW, status: { state: 'ok' }, models: [] }, /^No models\. nemoclaw models start/],
  ];
  for (const [what, ev, want] of statusCases) {
    it(what, () => {
      const s = snap(ev === null ? [] : [ev]);
      expect(text(modelsBody({ snapshot: s, ui, width: 200, height: 6, now: NOW, focused: true }))).toMatch(want);
    });
  }

  it('GPU figures come only from processes the owner join gave to the model', () => {
    expect(modelGpu('vllm-a', snapshot)).toEqual({ memoryMiB: 32768, utilization: 81 });
    expect(modelGpu('nim-b', snapshot)).toBeNull();
  });

  it('the GPU pane names each process owner', () => {
    const out = text(gpuBody({ snapshot, ui, width: 100, height: 30, now: NOW, focused: false }));
    expect(out).toMatch(/101 30\.0G model vllm-a +python3/);
    expect(out).toMatch(/103 1\.0G sandbox agent +train/);
    expect(out).toMatch(/104 0\.1G host +Xorg/);
  });

  it('the log overlay shows the newest lines that fit, scrolls back, and is inert', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`).concat(['\u001b[2J cleared?']);
    const mode = { kind: 'modelLogs' as const, name: 'vllm-a', status: 'ready' as const, lines, error: null, scroll: 0 };
    const a = modelLogsLines(mode, 10);
    expect(a.lines.map((l) => lineText(l))).toHaveLength(10);
    expect(lineText(a.lines[9]!)).not.toContain('\u001b');
    expect(a.footer).toBe('42-51 of 51');
    expect(modelLogsLines({ ...mode, scroll: 41 }, 10).footer).toBe('1-10 of 51');
    expect(lineText(modelLogsLines({ ...mode, status: 'error', error: 'no model x' }, 10).lines[0]!)).toBe('no model x');
  });
});

describe('Models pane keys', () => {
  it('s asks; y sends the stop effect for the selected row; n sends nothing', () => {
    const down = dispatch(ui, ['j'], ctx()).state;
    const asked = dispatch(down, ['s'], ctx());
    expect(asked.effects).toEqual([]);
    const top = asked.state.modes.at(-1);
    expect(top).toMatchObject({ kind: 'confirm', action: { type: 'model', name: 'nim-b', action: 'stop' }, prompt: 'Stop model nim-b?' });
    expect(dispatch(asked.state, ['y'], ctx()).effects).toEqual([{ type: 'modelAction', name: 'nim-b', action: 'stop' }]);
    const no = dispatch(asked.state, ['n'], ctx());
    expect(no.effects).toEqual([]);
    expect(no.state.modes).toEqual([]);
  });

  it('r asks to restart; l and Enter open the logs (loading, then lines arrive); s from the overlay asks about that model', () => {
    expect(dispatch(ui, ['r', 'y'], ctx()).effects).toEqual([{ type: 'modelAction', name: 'vllm-a', action: 'restart' }]);
    for (const key of ['l', 'enter']) {
      const r = dispatch(ui, [key], ctx());
      expect(r.effects).toEqual([{ type: 'modelLogs', name: 'vllm-a' }]);
      expect(r.state.modes.at(-1)).toMatchObject({ kind: 'modelLogs', name: 'vllm-a', status: 'loading' });
      const arrived = modelLogsArrived(r.state, 'vllm-a', { ok: true, lines: ['a', 'b'] });
      expect(arrived.modes.at(-1)).toMatchObject({ status: 'ready', lines: ['a', 'b'] });
      // An answer for another model (the overlay was closed and reopened) changes nothing.
      expect(modelLogsArrived(r.state, 'nim-b', { ok: true, lines: ['x'] })).toBe(r.state);
      expect(dispatch(arrived, ['escape'], ctx()).state.modes).toEqual([]);
      const stop = dispatch(arrived, ['s', 'y'], ctx());
      expect(stop.effects).toEqual([{ type: 'modelAction', name: 'vllm-a', action: 'stop' }]);
    }
  });

  it('with no models the keys say so and send nothing', () => {
    const empty = snap([{ type: 'models', ts: NOW, status: { state: 'ok' }, models: [] }]);
    for (const key of ['s', 'r', 'l']) {
      const r = dispatch(ui, [key], ctx(empty));
      expect(r.effects).toEqual([]);
      expect(r.state.message?.text).toBe('no model selected');
    }
  });

  it('the filter narrows the rows the keys act on', () => {
    const filtered: UiState = { ...ui, filters: { models: { text: 'nim', invert: false } } };
    expect(modelRows(snapshot, filtered).map((m) => m.name)).toEqual(['nim-b']);
    expect(dispatch(filtered, ['s', 'y'], ctx(snapshot, filtered)).effects).toEqual([{ type: 'modelAction', name: 'nim-b', action: 'stop' }]);
  });

  const shown: [string, Partial<UiState>, boolean][] = [
    ['overview does not (the approvals keep their width at 80x24)', { layout: 'overview' }, false],
    ['monitoring shows it', { layout: 'monitoring' }, true],
    ['approvals-first does not', { layout: 'approvals-first' }, false],
    ['hidden', { layout: 'overview', hidden: ['models'] }, false],
    ['another pane zoomed', { layout: 'overview', zoomed: 'gpu' }, false],
    ['zoomed (9 from approvals-first)', { layout: 'approvals-first', zoomed: 'models' }, true],
  ];
  for (const [what, over, want] of shown) it(`dockerode is loaded when the pane is shown: ${what}`, () => expect(modelsPaneShown({ ...ui, ...over })).toBe(want));
});

describe('Models pane help', () => {
  it('? lists the pane keys and the log overlay keys, generated from the keymap', async () => {
    const { helpLines } = await import('../../src/tui/app/overlays.ts');
    const pane = helpLines({ ...ui, modes: [{ kind: 'help', scroll: 0 }] }).map((l) => lineText(l)).join('\n');
    expect(pane).toMatch(/^Models$/m);
    expect(pane).toMatch(/l Enter +the selected model's recent log lines/);
    expect(pane).toMatch(/r +restart the selected model \(asks y\/n\)/);
    expect(pane).toMatch(/s +stop the selected model \(asks y\/n; the container stays\)/);
    const overlay = helpLines({ ...ui, modes: [{ kind: 'modelLogs', name: 'm', status: 'ready', lines: [], error: null, scroll: 0 }, { kind: 'help', scroll: 0 }] }).map((l) => lineText(l)).join('\n');
    expect(overlay).toMatch(/^Model logs$/m);
    expect(overlay).toMatch(/close the logs/);
  });
});
