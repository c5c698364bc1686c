// The approvals control API: HTTP/1.1 over a unix socket (mode 0600 in a 0700 directory), served
// by whoever owns the queue (`nemoclaw serve` / the supervisor) and used by the CLI.
//
//   GET  /v1/approvals                      -> 200 {"items": ApprovalItem[]}
//   POST /v1/approvals/<id>/decision        body {"verdict":"allow"|"deny","always":bool,"by":{"user","origin"}}
//                                           -> 200 {"result": ApprovalResult}
//                                           -> 404 {"error":"not_pending"}   (unknown id, or already decided: first decision wins)
//                                           -> 400 {"error":"bad_request","reason":...}
//                                           -> 409 {"error":"refused","reason":...}  ("always" that cannot be recorded,
//                                              e.g. allow always for an unknown program; the item stays pending)
//
// Who may call: only our uid (and root) can open the socket (file 0600, directory 0700). Node
// cannot read SO_PEERCRED, so the `by.user` a client sends is recorded as claimed; it is
// cross-checked against nothing but the file permissions.

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { homePaths, nemoclawHome } from '../state/index.ts';
import { readJsonBody, sendJson } from './http.ts';
import { ApprovalRefusedError } from './queue.ts';
import { noQueueError } from './types.ts';
import type { ApprovalQueue } from './queue.ts';
import type { ApprovalDecisionInput, ApprovalItem, ApprovalResult } from './queue.ts';

// node:http through process.getBuiltinModule, not an ESM import, which evaluates every export: its
// lazy WebSocket getters load Node's bundled undici, ~40 ms on each CLI start (issue 23).
const { createServer, request } = process.getBuiltinModule('node:http');

// A unix socket carries no TLS, so each request names no TLS server: otherwise http's agent
// derives one from the Host header and tests it with net.isIP, whose IPv6 regular expression
// takes 3-20 ms to compile on its first use, on every CLI verb that asks (issue 23). '' is what
// the agent would derive for an address; only TLS reads it.
const NO_SERVERNAME: object = { servername: '' };

/** `$NEMOCLAW_HOME/run/approvals.sock` (NEMOCLAW_HOME defaults to ~/.nemoclaw). */
export function defaultApprovalsSocket(env: NodeJS.ProcessEnv = process.env): string {
  return homePaths(nemoclawHome(env)).approvals;
}

function parseDecision(v: unknown): ApprovalDecisionInput | string {
  if (typeof v !== 'object' || v === null) return 'body must be a JSON object';
  const o = v as Record<string, unknown>;
  if (o.verdict !== 'allow' && o.verdict !== 'deny') return 'verdict must be "allow" or "deny"';
  const by = o.by as Record<string, unknown> | undefined;
  if (!by || typeof by.user !== 'string' || typeof by.origin !== 'string' || by.user.length > 256 || by.origin.length > 256) return 'by must be {user, origin}';
  return { verdict: o.verdict, always: o.always === true, by: { user: by.user, origin: by.origin } };
}

export interface ApprovalsServer {
  socketPath: string;
  close(): Promise<void>;
}

/** Serves the control API for `queue` on a unix socket. */
export async function serveApprovals(queue: ApprovalQueue, socketPath: string = defaultApprovalsSocket()): Promise<ApprovalsServer> {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  try {
    if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
  } catch {
    // absent
  }
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      if (req.method === 'GET' && url === '/v1/approvals') return sendJson(res, 200, { items: queue.list() });
      const m = /^\/v1\/approvals\/([0-9a-f]{1,32})\/decision$/.exec(url);
      if (req.method === 'POST' && m) {
        let body: unknown;
        try {
          body = await readJsonBody(req, 16 * 1024);
        } catch (err) {
          return sendJson(res, 400, { error: 'bad_request', reason: (err as Error).message });
        }
        const d = parseDecision(body);
        if (typeof d === 'string') return sendJson(res, 400, { error: 'bad_request', reason: d });
        let result: ApprovalResult | null;
        try {
          result = await queue.decide(m[1] as string, d);
        } catch (err) {
          if (err instanceof ApprovalRefusedError) return sendJson(res, 409, { error: 'refused', reason: err.message });
          throw err;
        }
        if (!result) return sendJson(res, 404, { error: 'not_pending', reason: `no pending approval ${m[1]} (unknown, timed out, or already decided)` });
        return sendJson(res, 200, { result });
      }
      sendJson(res, 404, { error: 'not_found' });
    })().catch((err: unknown) => sendJson(res, 500, { error: 'internal', reason: String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        try {
          unlinkSync(socketPath);
        } catch {
          // gone
        }
      }),
  };
}

function call(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ ...NO_SERVERNAME, socketPath, method, path, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(noQueueError(socketPath));
      } else reject(err);
    });
    req.end(data);
  });
}

/** Client side of the control API: the list, as `nemoclaw approvals list` asks it when its light GET gets no plain answer (decisions: src/cli/approvals.ts, over the light transport). */
export const approvalsClient = {
  async list(socketPath: string): Promise<ApprovalItem[]> {
    const r = await call(socketPath, 'GET', '/v1/approvals');
    return (r.body.items as ApprovalItem[]) ?? [];
  },
};
