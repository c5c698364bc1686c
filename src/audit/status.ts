// Verify statuses and their one-line form (kept apart so the CLI and index need not load verify.ts).

export type VerifyStatus =
  | { kind: 'ok' }
  | { kind: 'tampered'; seq: number }
  | { kind: 'truncated'; expected: number; found: number }
  | { kind: 'torn-tail' }
  | { kind: 'unauthenticated-tail'; count: number };

export function formatStatus(s: VerifyStatus): string {
  switch (s.kind) {
    case 'ok':
      return 'ok';
    case 'tampered':
      return `tampered(${s.seq})`;
    case 'truncated':
      return `truncated(expected>=${s.expected}, found ${s.found})`;
    case 'torn-tail':
      return 'torn-tail';
    case 'unauthenticated-tail':
      return `unauthenticated-tail(${s.count})`;
  }
}

