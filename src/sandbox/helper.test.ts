import { describe, expect, it } from 'vitest';
import { HelperMissingError, helperInsideWritable, helperPath } from './helper.ts';
import { statusOf } from './run.ts';

describe('helperPath', () => {
  it('names the build command when the helper is missing', () => {
    expect(() => helperPath({ NEMOCLAW_HELPER: '/nonexistent/nemoclaw-sandbox' })).toThrow(HelperMissingError);
    expect(() => helperPath({ NEMOCLAW_HELPER: '/nonexistent/nemoclaw-sandbox' })).toThrow(/NEMOCLAW_HELPER/);
  });

  it('accepts an executable override', () => {
    expect(helperPath({ NEMOCLAW_HELPER: '/bin/true' })).toBe('/bin/true');
  });
});

describe('helperInsideWritable', () => {
  it('refuses a helper inside a writable root (the workload could replace it)', () => {
    expect(helperInsideWritable('/home/op/nemoclaw/native/build/nemoclaw-sandbox', ['/home/op/nemoclaw'])).toBe('/home/op/nemoclaw');
    expect(helperInsideWritable('/opt/nemoclaw/native/build/nemoclaw-sandbox', ['/'])).toBe('/');
  });

  it('accepts a helper outside every writable root, including look-alike prefixes', () => {
    expect(helperInsideWritable('/home/op/nemoclaw/native/build/nemoclaw-sandbox', ['/home/op/nemo', '/tmp/ws'])).toBeNull();
  });
});

describe('statusOf', () => {
  it('is the code when the workload exited, 128+N when a signal ended it', () => {
    expect(statusOf(3, null)).toBe(3);
    expect(statusOf(null, 'SIGKILL')).toBe(137);
    expect(statusOf(null, 'SIGTERM')).toBe(143);
  });

  it('is 125 when neither is known', () => {
    expect(statusOf(null, null)).toBe(125);
    expect(statusOf(null, 'SIGNOPE')).toBe(125);
  });
});
