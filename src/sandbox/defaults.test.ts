import { describe, expect, it } from 'vitest';
import { LIMIT_DEFAULTS, compileSandboxSpec, defaultPolicy } from '../policy/index.ts';
import { SANDBOX_OWN_LOOPBACK as EGRESS_OWN_LOOPBACK } from '../egress/index.ts';
import { DEFAULT_TMP_BYTES, SANDBOX_OWN_LOOPBACK, defaultSandboxSpec } from './defaults.ts';

describe('defaultSandboxSpec', () => {
  it('is exactly what src/policy compiles from defaultPolicy()', () => {
    expect(defaultSandboxSpec()).toEqual(compileSandboxSpec(defaultPolicy()));
  });
});

describe('the copies of other components\' values', () => {
  it('equal their originals', () => {
    expect(DEFAULT_TMP_BYTES).toBe(LIMIT_DEFAULTS.tmpBytes);
    expect(SANDBOX_OWN_LOOPBACK).toBe(EGRESS_OWN_LOOPBACK);
  });
});
