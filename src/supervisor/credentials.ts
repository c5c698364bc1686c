// Invariant 6 (docs/design.md): credentials never enter a sandbox. The agent gets a placeholder key and
// `inference.local`; the router injects real provider keys outside. Environment handed to a
// sandbox (blueprint agent env, `create --env`, exec env) is checked here, by name and by value
// shape, so an operator cannot paste a key into a sandbox by accident. Pure; a table of patterns.

/** Names that say "this is a secret": FOO_API_KEY, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD... */
const CREDENTIAL_NAME = /(^|_)(API_?KEY|TOKEN|SECRET|SECRET_ACCESS_KEY|ACCESS_KEY(_ID)?|PASSWORD|PASSWD|CREDENTIALS?|PRIVATE_KEY|SESSION_KEY|AUTH)($|_)/i;

/** Value shapes of well-known provider keys. */
const CREDENTIAL_VALUES: ReadonlyArray<{ name: string; re: RegExp }> = [
  { name: 'NVIDIA API key', re: /\bnvapi-[A-Za-z0-9_-]{20,}/ },
  { name: 'OpenAI-style key', re: /\bsk-[A-Za-z0-9_-]{20,}/ },
  { name: 'GitHub token', re: /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { name: 'Slack token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { name: 'AWS access key id', re: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { name: 'Hugging Face token', re: /\bhf_[A-Za-z0-9]{30,}/ },
  { name: 'private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
];

/**
 * The first entry that looks like a credential, with why; null when the environment is clean.
 * Placeholders the project itself hands out (values starting with `nemoclaw-placeholder`) pass.
 */
export function findCredential(env: Readonly<Record<string, string>>): { name: string; why: string } | null {
  for (const [name, value] of Object.entries(env)) {
    if (value.startsWith('nemoclaw-placeholder')) continue;
    if (CREDENTIAL_NAME.test(name) && value !== '') return { name, why: 'its name says it holds a secret' };
    const shape = CREDENTIAL_VALUES.find((c) => c.re.test(value));
    if (shape) return { name, why: `its value looks like a ${shape.name}` };
  }
  return null;
}

/** The one-line refusal the API and CLI print. */
export function credentialRefusal(hit: { name: string; why: string }): string {
  return `${hit.name} looks like a credential (${hit.why}); credentials never enter a sandbox: name the variable that holds a provider key with \`nemoclaw onboard --credential-env ${hit.name}\` and the inference router injects it outside the sandbox`;
}
