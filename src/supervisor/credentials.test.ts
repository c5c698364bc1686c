import { describe, expect, it } from 'vitest';
import { credentialRefusal, findCredential } from './credentials.ts';

describe('credentials never enter a sandbox', () => {
  it.each([
    ['OPENAI_API_KEY', 'anything'],
    ['GITHUB_TOKEN', 'x'],
    ['AWS_SECRET_ACCESS_KEY', 'x'],
    ['DB_PASSWORD', 'hunter2'],
    ['HARMLESS', 'nvapi-' + 'a'.repeat(40)],
    ['HARMLESS', 'Bearer sk-' + 'b'.repeat(40)],
    ['HARMLESS', 'ghp_' + 'c'.repeat(36)],
    ['HARMLESS', 'AKIA' + 'D'.repeat(16)],
    ['HARMLESS', '-----BEGIN OPENSSH PRIVATE KEY-----\n...'],
  ])('refuses %s=%s', (name, value) => {
    const hit = findCredential({ PATH: '/usr/bin', [name]: value });
    expect(hit?.name).toBe(name);
    expect(credentialRefusal(hit!)).toContain('credentials never enter a sandbox');
  });

  it.each([
    [{ PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', TOKENIZERS_PARALLELISM: 'false', NODE_ENV: 'production' }],
    [{ OPENAI_API_KEY: 'nemoclaw-placeholder', OPENAI_BASE_URL: 'http://inference.local/v1' }],
    [{ GITHUB_TOKEN: '' }],
  ])('lets ordinary and placeholder environments through: %j', (env) => {
    expect(findCredential(env)).toBeNull();
  });
});
