import { describe, expect, it } from 'vitest';
import { planStdio } from './relay.ts';

const facts = (t0: boolean, t1: boolean, t2: boolean, foreground = true) => ({ tty: [t0, t1, t2] as const, foreground });

describe('planStdio', () => {
  it('never hands a terminal fd to the helper without --tty: pipes, relayed', () => {
    expect(planStdio('inherit', false, facts(true, true, true))).toEqual({ stdio: ['pipe', 'pipe', 'pipe'], relay: [true, true, true] });
  });
  it('leaves files and pipes inherited', () => {
    expect(planStdio('inherit', false, facts(false, true, false))).toEqual({ stdio: ['inherit', 'pipe', 'inherit'], relay: [false, true, false] });
  });
  it('a background job does not read the terminal (SIGTTIN): its workload reads /dev/null', () => {
    expect(planStdio('inherit', false, facts(true, false, false, false))).toEqual({ stdio: ['ignore', 'inherit', 'inherit'], relay: [false, false, false] });
  });
  it('--tty and pipe mode are unchanged', () => {
    expect(planStdio('inherit', true, facts(true, true, true)).stdio).toEqual(['inherit', 'inherit', 'inherit']);
    expect(planStdio('pipe', false, facts(true, true, true))).toEqual({ stdio: ['pipe', 'pipe', 'pipe'], relay: [false, false, false] });
  });
});
