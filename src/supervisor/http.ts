// Small HTTP helpers for the API server (JSON bodies): the approvals control API's own, which the
// supervisor also serves, with this API's larger body limit and an empty body read as `{}`.
import type { IncomingMessage } from 'node:http';
import { readJsonBody as readJsonWithin } from '../approvals/index.ts';

export { sendJson } from '../approvals/index.ts';

export function readJsonBody(req: IncomingMessage, max = 256 * 1024): Promise<unknown> {
  return readJsonWithin(req, max, true);
}
