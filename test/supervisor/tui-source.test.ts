// The supervisor as the TUI's data source: sandbox states, log lines and approval decisions arrive
// as TuiEvents over the control API, and the sandbox list seeds the pane.
import { describe, expect, it } from 'vitest';
import { ApiClient, startSupervisor, supervisorTuiSource } from '../../src/supervisor/index.ts';
import type { TuiEvent } from '../../src/tui/store/index.ts';
import { HAVE_HELPER, freshHome, until, workspace } from './harness.ts';

describe.runIf(HAVE_HELPER)('supervisorTuiSource', { timeout: 120_000 }, () => {
  it('maps the event stream and the sandbox list', async () => {
    const home = freshHome();
    const sup = await startSupervisor({ home, onWarning: () => {} });
    try {
      const api = new ApiClient(sup.apiSocket);
      const source = supervisorTuiSource(api, { user: 'tester' });
      const got: TuiEvent[] = [];
      const stop = source.events((e) => got.push(e));
      await api.call('POST', '/v1/sandboxes', { name: 'tui1', workspace: workspace(home), command: ['/bin/sh', '-c', 'echo hello tui; exec sleep 1000'] });
      await until('running + log', () => got.some((e) => e.type === 'sandbox_state' && e.sandbox.state === 'running') && got.some((e) => e.type === 'log' && e.line === 'hello tui'));
      const list = await source.sandboxes();
      expect(list).toEqual([expect.objectContaining({ name: 'tui1', state: 'running', policyRevision: 1 })]);
      expect(await source.decide('0123abcd', 'allow', false)).toMatchObject({ ok: false });
      await api.call('DELETE', '/v1/sandboxes/tui1');
      await until('removed', () => got.some((e) => e.type === 'sandbox_removed' && e.sandbox === 'tui1'));
      stop();
    } finally {
      await sup.close();
    }
  });
});
