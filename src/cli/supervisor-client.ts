// Shared by the supervisor's CLI verbs: the API client, error reporting and exit codes.
//   0 ok · 1 failure · 2 usage / bad request · 3 no supervisor running · 4 no such sandbox ·
//   5 conflict (name taken, sandbox not running) · exec/connect: the command's own status
// The supervisor's light door (client.ts, docs/design.md "Component map"): index.ts would load
// the whole supervisor, ~290 modules, on every status, list or logs (issue 23). Imported
// statically: every verb that loads this file talks to the supervisor, and a static import is one
// file fewer to load (the bundle's entry file for a lazily imported module) and one await less.
import { ApiClient, ApiError, SupervisorUnavailableError } from '../supervisor/client.ts';
import { jsonText, showOn, stderr, stdout } from './output.ts';

export const svExit = { ok: 0, failure: 1, usage: 2, noSupervisor: 3, notFound: 4, conflict: 5 } as const;

export interface JsonFlag {
  json?: boolean;
}

export async function client(): Promise<ApiClient> {
  return new ApiClient();
}

/** Runs a verb; maps API failures to one line (or a JSON object) and an exit code. */
export async function runVerb(flags: JsonFlag, fn: () => Promise<number>): Promise<void> {
  const say = (code: number, body: Record<string, unknown>, line: string): void => {
    // The supervisor's error may quote what a sandbox controls (a path, a host): one inert line.
    if (flags.json) stdout.write(`${jsonText(body)}\n`);
    else stderr.write(`nemoclaw: ${showOn(stderr)(line)}\n`);
    process.exitCode = code;
  };
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof SupervisorUnavailableError) return say(svExit.noSupervisor, { error: 'no_supervisor', reason: err.message }, err.message);
    if (err instanceof ApiError) {
      const code = err.status === 404 ? svExit.notFound : err.status === 409 ? svExit.conflict : err.status === 400 ? svExit.usage : svExit.failure;
      return say(code, err.body, err.message);
    }
    throw err;
  }
}

/**
 * A verb's answer: JSON, or `human` shown inert on a terminal (its own newlines and tabs kept).
 * Fields a sandbox controls that must stay on one line are shown with showOn() by the caller.
 */
export function printOut(flags: JsonFlag, json: unknown, human: string): void {
  stdout.write(flags.json ? `${jsonText(json, 2)}\n` : showOn(stdout)(human, { newlines: true, tabs: 'keep' }));
}

