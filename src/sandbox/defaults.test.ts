import { describe, expect, it } from 'vitest';
import { compileSandboxSpec, defaultPolicy } from '../policy/index.ts';
import { defaultSandboxSpec } from './defaults.ts';

describe('defaultSandboxSpec', () => {
  it('is exactly what src/policy compiles from defaultPolicy()', () => {
    expect(defaultSandboxSpec()).toEqual(compileSandboxSpec(defaultPolicy()));
  });
});
