// Every test run gets its own NEMOCLAW_HOME and HOME-independent state, so no test ever reads or
// writes the operator's real ~/.nemoclaw (audit log, keys, policies). Tests that need a specific
// home still set their own; this is the fallback for everything else, children included.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.NEMOCLAW_HOME || !process.env.NEMOCLAW_HOME.includes('nemoclaw-test-home-')) {
  process.env.NEMOCLAW_HOME = mkdtempSync(join(tmpdir(), 'nemoclaw-test-home-'));
}
