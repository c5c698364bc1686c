// "Learn from the last N minutes" (issue 22): the state of the proposal overlay, as pure
// transitions. Opening it asks the source for a proposal (an effect); the answer comes back
// through learnArrived; nothing is written until the operator confirms what the diff shows.
import { ok, popMode, pushMode, replaceTop, say, topMode, type Mode, type Result, type UiState } from '../../input/types.ts';
import type { LearnProposal } from '../../store/events.ts';

export type LearnMode = Extract<Mode, { kind: 'learn' }>;

/** The windows `+`/`-` step through, in minutes. */
export const LEARN_WINDOWS: readonly number[] = [1, 5, 10, 30, 60, 180, 720, 1440, 10080];
export const DEFAULT_LEARN_MINUTES = 10;

export function learnMode(s: UiState): LearnMode | undefined {
  const m = topMode(s);
  return m?.kind === 'learn' ? m : undefined;
}

function loading(sandbox: string, minutes: number): LearnMode {
  return { kind: 'learn', sandbox, minutes, status: 'loading', proposal: null, error: null, scroll: 0 };
}

export function openLearn(s: UiState, sandbox: string, minutes = DEFAULT_LEARN_MINUTES): Result {
  return ok(pushMode(s, loading(sandbox, minutes)), [{ type: 'learn', sandbox, minutes }]);
}

/** A wider or narrower window: asks again (the shown proposal is replaced when the answer comes). */
export function stepWindow(s: UiState, dir: 1 | -1): Result {
  const m = learnMode(s);
  if (m === undefined) return ok(s);
  const i = LEARN_WINDOWS.findIndex((w) => w >= m.minutes);
  const next = LEARN_WINDOWS[Math.min(LEARN_WINDOWS.length - 1, Math.max(0, (i < 0 ? LEARN_WINDOWS.length - 1 : i) + dir))] ?? m.minutes;
  if (next === m.minutes) return ok(s);
  return ok(replaceTop(s, loading(m.sandbox, next)), [{ type: 'learn', sandbox: m.sandbox, minutes: next }]);
}

/** The source answered. An answer for another window or sandbox (the operator moved on) is dropped. */
export function learnArrived(s: UiState, sandbox: string, minutes: number, r: { ok: true; proposal: LearnProposal } | { ok: false; error: string }): UiState {
  const m = learnMode(s);
  if (m === undefined || m.sandbox !== sandbox || m.minutes !== minutes) return s;
  return replaceTop(s, r.ok ? { ...m, status: 'ready', proposal: r.proposal, error: null, scroll: 0 } : { ...m, status: 'error', proposal: null, error: r.error });
}

export function scrollLearn(s: UiState, delta: number): Result {
  const m = learnMode(s);
  if (m === undefined) return ok(s);
  return ok(replaceTop(s, { ...m, scroll: Math.max(0, m.scroll + delta) }));
}

/** y: write the proposal shown, if there is one with changes. */
export function confirmLearn(s: UiState): Result {
  const m = learnMode(s);
  if (m === undefined) return ok(s);
  if (m.status !== 'ready' || m.proposal === null) return ok(say(s, m.status === 'loading' ? 'still reading the audit log' : 'nothing to apply', 'warn'));
  if (m.proposal.diff === '') return ok(say(popMode(s), `${m.sandbox}: nothing to learn from the last ${windowText(m.minutes)}`, 'info'));
  return ok(say(popMode(s), `${m.sandbox}: writing the learned revision…`, 'info'), [{ type: 'applyLearned', proposal: m.proposal }]);
}

export function cancelLearn(s: UiState): Result {
  return ok(say(popMode(s), 'learning proposal dismissed: nothing written'));
}

/** The source wrote (or refused) the revision. */
export function learnApplied(s: UiState, sandbox: string, r: { ok: true; rev: number } | { ok: false; error: string }): UiState {
  return r.ok ? say(s, `${sandbox}: revision ${r.rev} written (network rules apply now, exec at the next start)`, 'ok') : say(s, `${sandbox}: not written: ${r.error}`, 'error');
}

export function windowText(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? '' : 's'}`;
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
