// The redaction scanner off the supervisor's event loop, for large requests (router.ts): a scan
// that runs away (a pathological input) is ended by terminating this worker at its deadline, and
// the request fails closed instead of stalling every sandbox's proxy. Messages: {id, body, known}
// in; {id, ok: true, out, found} or {id, ok: false, error} out.
import { parentPort } from 'node:worker_threads';
import { redactJson, redactionContext } from './redact.ts';

parentPort?.on('message', (m: { id: number; body: unknown; known: string[] }) => {
  try {
    const ctx = redactionContext(m.known);
    const out = redactJson(m.body, ctx);
    parentPort?.postMessage({ id: m.id, ok: true, out, found: ctx.found });
  } catch (err) {
    parentPort?.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
